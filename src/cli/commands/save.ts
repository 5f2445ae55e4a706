/**
 * `jsfunc save`: package a model, from a spec (a module exporting `saveOptions`, like
 * `udf/<name>/spec.mjs`, or a JSON options file) or from flags. JS models go through
 * `saveModel`; ONNX models (`--onnx FILE`, or spec options naming an `onnxModel`) through
 * `saveOnnxModel`, in `mlflow.onnx`'s layout.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ModelError } from '../../errors.js';
import { splitToRows } from '../../package/input-example.js';
import { saveModel, type SaveModelOptions } from '../../package/save-model.js';
import { saveOnnxModel, type SaveOnnxModelOptions } from '../../package/save-onnx-model.js';
import type { ModelMetadata } from '../../package/types.js';
import { parseSignature } from '../../signature/schema-json.js';
import type { ModelSignature } from '../../signature/types.js';
import {
  UsageError,
  keyValueList,
  optionalJsonObject,
  optionalString,
  requireString,
  type FlagValues,
} from '../args.js';
import type { Command } from '../command.js';
import { formatBytes } from '../format-info.js';

const usage =
  'save (-s SPEC | --model FILE [--artifact name=path ...] [--predict-fn NAME] | --onnx FILE.onnx) ' +
  '[--signature FILE.json] [--input-example FILE.json] [--config JSON] [--metadata JSON] -o OUTDIR [--force]';

/** Options of either saver: `saveModel`'s (a JS model) or `saveOnnxModel`'s (an `.onnx` file). */
type AnySaveOptions = SaveModelOptions | SaveOnnxModelOptions;

/** True for `saveOnnxModel` options: they name an `onnxModel` file instead of model code. */
function isOnnxOptions(options: AnySaveOptions): options is SaveOnnxModelOptions {
  return (options as Partial<SaveOnnxModelOptions>).onnxModel !== undefined;
}

/** Option names only `saveModel` has, with the flag that sets each (ONNX packages have no code). */
const JS_ONLY_OPTIONS: Readonly<Record<string, string>> = {
  model: '--model',
  artifacts: '--artifact',
  predictFn: '--predict-fn',
};

function specError(path: string, message: string, cause?: unknown): ModelError {
  return new ModelError('E_OPTION_INVALID', `Spec ${path}: ${message}`, {
    details: { spec: path },
    cause,
  });
}

async function readJsonFile(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new ModelError(
      'E_FILE_NOT_FOUND',
      `${what} ${path} cannot be read: ${(cause as Error).message}`,
      {
        details: { path },
        cause,
      }
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new ModelError(
      'E_FORMAT_MALFORMED',
      `${what} ${path} is not valid JSON: ${(cause as Error).message}`,
      {
        details: { path },
        cause,
      }
    );
  }
}

/**
 * Accepts a signature in any of the forms a user has at hand: jsfunc's own objects (specs with
 * `kind`), MLflow's MLmodel form (`{"inputs": "<json string>", ...}`), or MLflow's form with the
 * schemas as JSON arrays instead of strings.
 *
 * @param value - the signature
 * @param where - for messages
 * @returns the signature, or null
 * @throws {ModelError} E_SIGNATURE_INVALID
 */
export function normalizeSignature(value: unknown, where: string): ModelSignature | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ModelError(
      'E_SIGNATURE_INVALID',
      `${where}: a signature must be an object with inputs/outputs/params`,
      {
        details: { where },
      }
    );
  }
  const dict = value as Record<string, unknown>;
  const parts = ['inputs', 'outputs', 'params'] as const;
  const hasKind = (v: unknown) =>
    Array.isArray(v) && v.some((s) => typeof s === 'object' && s !== null && 'kind' in s);
  const objectTyped = (v: unknown) =>
    Array.isArray(v) && v.some((p) => typeof (p as { type?: unknown } | null)?.type === 'object');
  if (hasKind(dict['inputs']) || hasKind(dict['outputs']) || objectTyped(dict['params'])) {
    // Already jsfunc's own form (what spec modules build with udf/shared/spec-helpers.mjs).
    return { inputs: null, outputs: null, params: null, ...(dict as Partial<ModelSignature>) };
  }
  const asText: Record<string, string | null> = {};
  for (const k of parts) {
    const v = dict[k];
    asText[k] =
      v === null || v === undefined ? null : typeof v === 'string' ? v : JSON.stringify(v);
  }
  return parseSignature(asText);
}

function normalizeExample(value: unknown): unknown {
  const s = value as { columns?: unknown; data?: unknown } | null;
  if (typeof s === 'object' && s !== null && Array.isArray(s.columns) && Array.isArray(s.data)) {
    return splitToRows({ columns: s.columns.map(String), data: s.data as unknown[][] });
  }
  return value;
}

async function fromModule(path: string): Promise<AnySaveOptions> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((cause as Error).message).includes(path)) {
      throw new ModelError('E_FILE_NOT_FOUND', `Spec ${path} does not exist`, {
        details: { path },
        cause,
      });
    }
    throw specError(path, `failed to import: ${(cause as Error).message}`, cause);
  }
  // Generated artifacts (udf/embedding-lookup's table, udf/mlp's weights) come from prepare().
  if (typeof mod['prepare'] === 'function')
    await (mod['prepare'] as (root?: string, o?: object) => unknown)(undefined, {});
  const exported = mod['saveOptions'] ?? mod['default'];
  const options = typeof exported === 'function' ? await (exported as () => unknown)() : exported;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw specError(
      path,
      'must export saveOptions (a function returning saveModel or saveOnnxModel options, or the options object)'
    );
  }
  return options as AnySaveOptions;
}

async function fromJson(path: string): Promise<AnySaveOptions> {
  const json = await readJsonFile(path, 'Spec');
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw specError(path, 'must be a JSON object of saveModel options');
  const o = { ...(json as Record<string, unknown>) };
  // Paths in a JSON spec are relative to the spec file, not to the working directory.
  const base = dirname(path);
  const at = (p: unknown): unknown => (typeof p === 'string' && !isAbsolute(p) ? join(base, p) : p);
  if (typeof o['model'] === 'string') o['model'] = at(o['model']);
  if (typeof o['onnxModel'] === 'string') o['onnxModel'] = at(o['onnxModel']);
  else if (typeof o['model'] === 'object' && o['model'] !== null) {
    const m = o['model'] as Record<string, unknown>;
    o['model'] = { ...m, path: at(m['path']) };
  }
  if (typeof o['artifacts'] === 'object' && o['artifacts'] !== null) {
    o['artifacts'] = Object.fromEntries(
      Object.entries(o['artifacts'] as Record<string, unknown>).map(([k, v]) => [k, at(v)])
    );
  }
  if (o['signature'] !== undefined)
    o['signature'] = normalizeSignature(o['signature'], `${path} signature`);
  if (o['inputExample'] !== undefined) o['inputExample'] = normalizeExample(o['inputExample']);
  return o as unknown as AnySaveOptions;
}

async function flagOverrides(values: FlagValues): Promise<Partial<SaveModelOptions>> {
  const out: Partial<SaveModelOptions> = {};
  const artifacts = keyValueList(values, 'artifact');
  if (Object.keys(artifacts).length > 0) out.artifacts = artifacts;
  const sigPath = optionalString(values, 'signature');
  if (sigPath !== undefined)
    out.signature = normalizeSignature(await readJsonFile(sigPath, 'Signature file'), sigPath);
  const examplePath = optionalString(values, 'input-example');
  if (examplePath !== undefined)
    out.inputExample = normalizeExample(await readJsonFile(examplePath, 'Input example file'));
  const config = optionalJsonObject(values, 'config');
  if (config !== undefined) out.modelConfig = config;
  const metadata = optionalJsonObject(values, 'metadata');
  if (metadata !== undefined) out.metadata = metadata;
  const predictFn = optionalString(values, 'predict-fn');
  if (predictFn !== undefined) out.predictFn = predictFn;
  return out;
}

/**
 * Checks `dir` for `--force`: it may be absent or empty, or hold a model package (an `MLmodel`
 * file), since `--force` replaces a package, never an arbitrary directory.
 *
 * @returns true when `dir` holds a package to replace
 * @throws {ModelError} E_TARGET_NOT_EMPTY for a file or a non-empty directory without MLmodel
 */
async function replaceablePackage(dir: string): Promise<boolean> {
  const st = await stat(dir).catch(() => undefined);
  if (st === undefined) return false;
  const entries = st.isDirectory() ? await readdir(dir) : null;
  if (entries !== null && entries.length === 0) return false;
  if (entries === null || !entries.includes('MLmodel')) {
    throw new ModelError(
      'E_TARGET_NOT_EMPTY',
      `--force replaces a model package, but ${dir} is not empty and holds no MLmodel file; remove it yourself`,
      { details: { path: dir } }
    );
  }
  return true;
}

/**
 * Saves with `save(dir)`, and for `--force` over an existing package saves into a sibling
 * staging directory first: the old package is removed only once the new one is complete, so a
 * save that fails (a missing .onnx file, a model that does not bundle) leaves it untouched.
 * The sibling sits in the same parent, so the final rename stays on one file system.
 */
async function saveReplacing(
  dir: string,
  force: boolean,
  save: (target: string) => Promise<ModelMetadata>
): Promise<ModelMetadata> {
  if (!force || !(await replaceablePackage(dir))) return save(dir);
  const staging = join(dirname(dir), `.${basename(dir)}.jsfunc-save-${randomUUID().slice(0, 8)}`);
  let meta: ModelMetadata;
  try {
    meta = await save(staging);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  await rm(dir, { recursive: true, force: true });
  await rename(staging, dir);
  return meta;
}

/** Refuses JS-only options (code, artifacts, predict function) for an ONNX package. */
function checkOnnxOptions(options: AnySaveOptions, from: string): void {
  for (const [key, flag] of Object.entries(JS_ONLY_OPTIONS)) {
    if ((options as unknown as Record<string, unknown>)[key] === undefined) continue;
    throw new ModelError(
      'E_OPTION_INVALID',
      `${from} packages an ONNX model (onnxModel), which takes no ${key} (${flag}): ` +
        'the .onnx file is the whole model',
      { details: { option: key } }
    );
  }
}

/** The `save` command. */
export const saveCommand: Command = {
  name: 'save',
  summary: 'package a model (from a spec module/JSON, or from flags) as an MLmodel directory',
  usage,
  help: `usage: jsfunc ${usage}

Packages a model with saveModel: the code bundled with esbuild, artifacts copied, MLmodel
written in MLflow's format. An ONNX model (--onnx, or a spec whose options name onnxModel) is
packaged with saveOnnxModel instead, in mlflow.onnx's layout (flavors onnx + python_function).

From a spec:
  -s, --spec FILE          a module (.mjs/.js) exporting saveOptions(): the saveModel options
                           (as udf/<name>/spec.mjs; an exported prepare() runs first), or a
                           JSON file of the options (paths relative to the file; the signature
                           in MLflow's form); options with onnxModel save an ONNX package
From flags, a JS model:
      --model FILE         the model module; its default export is the model class
      --artifact NAME=PATH an artifact to copy (repeatable)
      --predict-fn NAME    the method predict calls (default predict)
From flags, an ONNX model:
      --onnx FILE          the .onnx file; without --signature one is inferred from the graph
                           (tensor specs)
Either:
      --signature FILE     signature JSON: {"inputs": [...], "outputs": [...], "params": [...]}
                           (MLflow's schema JSON, as arrays or as strings)
      --input-example FILE rows ([{...}]), columns ({"x": [...]}) or split ({columns, data})
      --config JSON        JS: model config (loadContext sees it as context.modelConfig);
                           ONNX: session options in MLflow's names, saved as the flavor's
                           onnx_session_options ({"intra_op_num_threads": 1, ...})
      --metadata JSON      free-form metadata for MLmodel
These flags also override a spec's values.

  -o, --output DIR         target directory; must not exist or be empty
      --force              replace an existing model package at DIR (only once the new one is
                           saved; a directory without MLmodel is never replaced)
  -v, --verbose            stack traces on errors
`,
  options: {
    spec: { type: 'string', short: 's' },
    model: { type: 'string' },
    onnx: { type: 'string' },
    artifact: { type: 'string', multiple: true },
    signature: { type: 'string' },
    'input-example': { type: 'string' },
    config: { type: 'string' },
    metadata: { type: 'string' },
    'predict-fn': { type: 'string' },
    output: { type: 'string', short: 'o' },
    force: { type: 'boolean' },
  },
  async run(values, _positionals, ctx) {
    const out = resolve(requireString(values, 'output', 'save'));
    const spec = optionalString(values, 'spec');
    const modelFile = optionalString(values, 'model');
    const onnxFile = optionalString(values, 'onnx');
    const sources = [
      ['--spec', spec],
      ['--model', modelFile],
      ['--onnx', onnxFile],
    ].filter(([, v]) => v !== undefined);
    if (sources.length > 1)
      throw new UsageError(
        `give one of --spec, --model and --onnx, not ${sources.map(([f]) => f).join(' and ')}`,
        'save'
      );
    if (sources.length === 0)
      throw new UsageError('missing required option --spec, --model or --onnx', 'save');
    if (onnxFile !== undefined) {
      for (const flag of ['artifact', 'predict-fn'])
        if (values[flag] !== undefined)
          throw new UsageError(`--${flag} applies to JS models, not to --onnx`, 'save');
    }
    const overrides = await flagOverrides(values);
    let options: AnySaveOptions;
    if (spec !== undefined) {
      const path = resolve(spec);
      const ext = extname(path).toLowerCase();
      if (ext === '.json') options = await fromJson(path);
      else if (['.mjs', '.js', '.cjs', '.ts', '.mts'].includes(ext))
        options = await fromModule(path);
      else {
        throw new ModelError(
          'E_FORMAT_UNSUPPORTED',
          `Spec ${spec} must be a .mjs/.js module or a .json file, found '${ext || '(none)'}'`,
          {
            details: { path: spec },
          }
        );
      }
      options = { ...options, ...overrides } as AnySaveOptions;
      if (isOnnxOptions(options)) checkOnnxOptions(options, `Spec ${spec}`);
    } else if (onnxFile !== undefined) {
      options = { onnxModel: resolve(onnxFile), ...overrides } as SaveOnnxModelOptions;
    } else {
      options = { model: resolve(modelFile!), ...overrides };
    }
    const chosen = options;
    const meta = await saveReplacing(out, values['force'] === true, (target) =>
      isOnnxOptions(chosen) ? saveOnnxModel(target, chosen) : saveModel(target, chosen)
    );
    const size = meta.modelSizeBytes === null ? '' : `, ${formatBytes(meta.modelSizeBytes)}`;
    ctx.io.stdout.write(`saved model to ${out} (uuid ${meta.modelUuid ?? '?'}${size})\n`);
    return 0;
  },
};
