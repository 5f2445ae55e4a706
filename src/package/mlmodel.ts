/**
 * Reading and writing MLflow's `MLmodel` file.
 *
 * The format follows `mlflow/models/model.py`: a YAML mapping with `flavors`, `model_uuid`,
 * `utc_time_created`, `signature` (`{inputs, outputs, params}` as JSON strings or null),
 * `saved_input_example_info`, `model_size_bytes`, `metadata` and any other key a writer chose to
 * add. Unknown keys and foreign flavors are kept in {@link ModelMetadata.raw} so a read followed
 * by a write loses nothing.
 *
 * Why YAML 1.1: MLflow writes with PyYAML (`yaml.safe_dump(default_flow_style=False)`), which
 * implements YAML 1.1. Writing with the 1.1 schema makes the `yaml` package quote exactly the
 * strings PyYAML would read back as something else (`'2024-05-17 23:15:28.764394'`, `'yes'`,
 * `'on'`, `'14.3'`), so MLflow reads our strings as strings. Reading uses the 1.1 schema without
 * its timestamp and sexagesimal tags, so an unquoted date stays the string it was written as.
 *
 * Linear time on any input. The `yaml` package's own duplicate-key check compares each key with
 * every earlier key of its mapping (40,000 keys took 10-13 s, 200,000 never finished), so it is
 * turned off (`uniqueKeys: false`) and `checkYamlDocument` (`yaml-check.ts`) does the same check
 * with a `Set` per mapping. Its `!!omap` tag has the same quadratic check and is not read (PyYAML's safe
 * loader gives a list of pairs for it; jsfunc reads it as the plain sequence of one-key
 * mappings it is written as). Alias resolution scans the document once per alias, so a
 * document may hold at most {@link MAX_ALIAS_COUNT} aliases. Duplicate keys stay an error, as
 * they were (PyYAML would keep the last value silently; an MLmodel written by MLflow never has
 * them, so one that does was edited by hand or crafted).
 *
 * Limits: at most {@link MAX_ALIAS_COUNT} aliases, no alias inside the node it refers to (a
 * cycle), and at most {@link MAX_NESTING_DEPTH} levels of nesting, aliases expanded.
 *
 * @module
 */
import { realpath, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { LineCounter, parseDocument, stringify, type Tags, type YAMLError } from 'yaml';
import { ModelError } from '../errors.js';
import { MAX_NESTING_DEPTH } from '../signature/nesting-depth.js';
import { parseSignature, signatureToDict } from '../signature/schema-json.js';
import type { ModelSignature } from '../signature/types.js';
import { describeFileKind, isInside, readRegularFile } from './package-file.js';
import { checkYamlDocument } from './yaml-check.js';
import type { InputExampleInfo, ModelMetadata } from './types.js';

/** File name of the model configuration inside a package. */
export const MLMODEL_FILE_NAME = 'MLmodel';

/**
 * Most YAML aliases one MLmodel may hold (and dereference). Real files use none; the bound stops
 * a "billion laughs" document from expanding into gigabytes, and keeps alias resolution (a scan
 * of the document per alias) linear.
 */
export const MAX_ALIAS_COUNT = 50;

/**
 * Tags of YAML 1.1 not read: `timestamp` turns plain scalars into dates PyYAML's safe loader
 * would read as strings here; `omap` checks its keys in quadratic time.
 */
const DROPPED_READ_TAGS = new Set([
  'tag:yaml.org,2002:timestamp',
  'tag:yaml.org,2002:omap',
  // intTime / floatTime share the int/float tag but carry a `format` of 'TIME'.
]);

function readTags(tags: Tags): Tags {
  return tags.filter((t) => {
    if (typeof t !== 'object' || t === null) return true;
    const tag = t as { tag?: string; format?: string };
    return !(DROPPED_READ_TAGS.has(tag.tag ?? '') || tag.format === 'TIME');
  });
}

/**
 * Resolves a package directory or an `MLmodel` file path to the `MLmodel` file path.
 *
 * @param path - A package directory, or the `MLmodel` file itself.
 * @returns The absolute path of the `MLmodel` file.
 * @throws {ModelError} E_MLMODEL_MISSING when neither exists.
 */
export async function resolveMLmodelPath(path: string): Promise<string> {
  const abs = resolve(path);
  const st = await stat(abs).catch(() => undefined);
  const file = st?.isDirectory() === true ? join(abs, MLMODEL_FILE_NAME) : abs;
  const fst = file === abs ? st : await stat(file).catch(() => undefined);
  if (fst?.isFile() === true) {
    await checkMLmodelInside(file);
    return file;
  }
  const found = fst === undefined ? '' : `: it is ${describeFileKind(fst)}, not a regular file`;
  throw new ModelError(
    'E_MLMODEL_MISSING',
    `Could not find an "MLmodel" configuration file at "${path}"${found}`,
    { details: { path: file === abs ? abs : file } }
  );
}

/**
 * The MLmodel file, like every file of a package, must not be a symlink leading out of its
 * directory: a package holding `MLmodel -> ~/.kube/config` would otherwise have jsfunc parse
 * (and `info` print) a file the package's author chose.
 */
async function checkMLmodelInside(file: string): Promise<void> {
  const dir = dirname(file);
  const [real, realDir] = await Promise.all([
    realpath(file),
    realpath(dir).catch(() => resolve(dir)),
  ]);
  if (!isInside(realDir, real)) {
    throw new ModelError(
      'E_ARTIFACT_PATH',
      `The MLmodel file "${file}" resolves (through a symlink) to "${real}", outside the package "${dir}"`,
      { details: { path: file, package: dir } }
    );
  }
}

/**
 * Reads and parses an `MLmodel` file.
 *
 * @param path - A package directory or the path of the `MLmodel` file itself.
 * @returns The parsed metadata; `raw` holds every key of the file.
 * @throws {ModelError} E_MLMODEL_MISSING when there is no MLmodel at `path`;
 *   E_MLMODEL_INVALID when it is not a YAML mapping with a `flavors` mapping;
 *   E_SIGNATURE_INVALID when its signature JSON is malformed.
 */
export async function readMLmodel(path: string): Promise<ModelMetadata> {
  const file = await resolveMLmodelPath(path);
  // Read through a non-blocking descriptor: the file may have been replaced by a FIFO since
  // it was checked.
  const real = await realpath(file).catch(() => file);
  const text = await readRegularFile(real, (kind, cause) => {
    const found = kind === undefined ? '' : `: it is ${kind}, not a regular file`;
    return new ModelError(
      'E_MLMODEL_MISSING',
      `Could not find an "MLmodel" configuration file at "${path}"${found}`,
      { details: { path: file }, cause }
    );
  });
  return parseMLmodel(text, file);
}

/**
 * A YAML error's message with where it is, as yaml's `prettyErrors` writes it: "at line L,
 * column C", then the line (at most 80 characters around the column) and a caret under it.
 */
function located(error: YAMLError, text: string, lines: LineCounter): string {
  const at = error.pos[0];
  if (at === undefined || at < 0) return error.message;
  const { line, col } = lines.linePos(at);
  const start = lines.lineStarts[line - 1] ?? 0;
  const end = lines.lineStarts[line] ?? text.length;
  let ci = col - 1;
  // Cut before copying: the line may be very long.
  let from = start;
  let prefix = '';
  if (ci >= 60 && end - start > 80) {
    const trim = Math.min(ci - 39, end - start - 79);
    from = start + trim;
    prefix = '…';
    ci -= trim - 1;
  }
  let lineStr = prefix + text.substring(from, Math.min(end, from + 81)).replace(/[\n\r]+$/, '');
  if (lineStr.length > 80) lineStr = `${lineStr.substring(0, 79)}…`;
  if (line > 1 && /^ *$/.test(lineStr.substring(0, ci))) {
    const prevStart = lines.lineStarts[line - 2] ?? 0;
    let prev = text.substring(prevStart, Math.min(start, prevStart + 81));
    if (prev.length > 80) prev = `${prev.substring(0, 79)}…\n`;
    lineStr = prev + lineStr;
  }
  let message = `${error.message} at line ${line}, column ${col}`;
  if (/[^ ]/.test(lineStr)) {
    let count = 1;
    const endPos = error.pos[1] === undefined ? undefined : lines.linePos(error.pos[1]);
    if (endPos?.line === line && endPos.col > col)
      count = Math.max(1, Math.min(endPos.col - col, 80 - ci));
    message += `:\n\n${lineStr}\n${' '.repeat(ci)}${'^'.repeat(count)}\n`;
  }
  return message;
}

function invalid(source: string, what: string, cause?: unknown): ModelError {
  return new ModelError('E_MLMODEL_INVALID', `Invalid MLmodel file "${source}": ${what}`, {
    details: { file: source },
    cause,
  });
}

function isMapping(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Uint8Array);
}

function describeValue(x: unknown): string {
  if (x === null || x === undefined) return 'null';
  if (Array.isArray(x)) return 'a list';
  return `a ${typeof x}`;
}

/**
 * Parses the text of an `MLmodel` file.
 *
 * @param text - The YAML text.
 * @param source - The file it came from, named in error messages.
 * @returns The parsed metadata; `raw` holds every top-level key as parsed.
 * @throws {ModelError} E_MLMODEL_INVALID for malformed YAML, too many aliases, a document that
 *   is not a mapping, or a missing/non-mapping `flavors`; E_SIGNATURE_INVALID for a bad signature.
 */
export function parseMLmodel(text: string, source: string): ModelMetadata {
  let raw: unknown;
  try {
    const lineCounter = new LineCounter();
    const doc = parseDocument(text, {
      version: '1.1',
      customTags: readTags,
      // Not yaml's: it prettifies every error, copying the error's whole line each time, so a
      // long line of many errors took quadratic time (22,448 errors on one 45,000-character
      // line: 2.3 s). Only the first error is reported; `located` describes that one.
      prettyErrors: false,
      uniqueKeys: false,
      lineCounter,
      // No process warnings from a library: problems are errors here, or nothing.
      logLevel: 'error',
    });
    const first = doc.errors[0];
    if (first !== undefined) {
      // The composer catches its own stack overflow and reports it as RESOURCE_EXHAUSTION.
      if (first.code === 'RESOURCE_EXHAUSTION' && /call stack/i.test(first.message))
        throw invalid(
          source,
          `nested too deeply (the limit is ${MAX_NESTING_DEPTH} levels)`,
          first
        );
      throw invalid(source, `malformed YAML: ${located(first, text, lineCounter)}`, first);
    }
    checkYamlDocument(doc, MAX_ALIAS_COUNT, (what, offset) => {
      const at = offset === undefined ? undefined : lineCounter.linePos(offset);
      return invalid(
        source,
        at === undefined ? what : `${what} at line ${at.line}, column ${at.col}`
      );
    });
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    if (ModelError.is(error)) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw invalid(source, `malformed YAML: ${message}`, error);
  }
  if (!isMapping(raw))
    throw invalid(source, `expected a YAML mapping, found ${describeValue(raw)}`);
  const flavors = raw['flavors'];
  if (!isMapping(flavors)) {
    throw invalid(
      source,
      `"flavors" must be a mapping of flavor name to configuration, found ${describeValue(flavors)}`
    );
  }
  for (const [name, conf] of Object.entries(flavors)) {
    if (!isMapping(conf))
      throw invalid(source, `flavor "${name}" must be a mapping, found ${describeValue(conf)}`);
  }

  let signature: ModelSignature | null = null;
  const sigRaw = raw['signature'];
  if (sigRaw !== undefined && sigRaw !== null) {
    if (!isMapping(sigRaw))
      throw invalid(source, `"signature" must be a mapping, found ${describeValue(sigRaw)}`);
    try {
      signature = parseSignature(sigRaw);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new ModelError(
        'E_SIGNATURE_INVALID',
        `Invalid signature in MLmodel file "${source}": ${message}`,
        {
          details: { file: source },
          cause: error,
        }
      );
    }
  }

  const info = raw['saved_input_example_info'];
  const metadata = raw['metadata'];
  const size = raw['model_size_bytes'];
  return {
    flavors: flavors as Record<string, Record<string, unknown>>,
    modelUuid: scalarString(raw['model_uuid']),
    utcTimeCreated: scalarString(raw['utc_time_created']),
    mlflowVersion: scalarString(raw['mlflow_version']),
    signature,
    savedInputExampleInfo:
      isMapping(info) && typeof info['artifact_path'] === 'string'
        ? (info as InputExampleInfo)
        : null,
    modelSizeBytes: typeof size === 'number' && Number.isFinite(size) ? size : null,
    metadata: isMapping(metadata) ? metadata : null,
    raw,
  };
}

function scalarString(x: unknown): string | null {
  if (typeof x === 'string') return x;
  if (typeof x === 'number' || typeof x === 'boolean') return String(x);
  return null;
}

/**
 * Builds the top-level dictionary written to `MLmodel`: every key of `meta.raw`, with the typed
 * fields of `meta` taking precedence (as MLflow's `Model.to_dict`: `flavors`, `model_uuid` and
 * `utc_time_created` always; the others only when set).
 *
 * @param meta - The metadata to write.
 * @returns A plain dictionary, signature as JSON strings.
 */
export function mlmodelToDict(meta: ModelMetadata): Record<string, unknown> {
  const dict: Record<string, unknown> = { ...meta.raw };
  dict['flavors'] = meta.flavors;
  dict['model_uuid'] = meta.modelUuid;
  dict['utc_time_created'] = meta.utcTimeCreated;
  setOrDelete(dict, 'mlflow_version', meta.mlflowVersion);
  setOrDelete(dict, 'signature', signatureDict(meta));
  setOrDelete(dict, 'saved_input_example_info', meta.savedInputExampleInfo);
  setOrDelete(dict, 'model_size_bytes', meta.modelSizeBytes);
  setOrDelete(dict, 'metadata', meta.metadata);
  return dict;
}

/**
 * The signature mapping to write. When `raw` already holds JSON strings that parse to the same
 * signature, they are kept verbatim, so a foreign file's signature text survives a rewrite (for
 * example an old file without `"required"` keys); otherwise the signature is written afresh.
 */
function signatureDict(meta: ModelMetadata): Record<string, unknown> | null {
  if (meta.signature === null) return null;
  const raw = meta.raw['signature'];
  if (isMapping(raw)) {
    try {
      if (isDeepStrictEqual(parseSignature(raw), meta.signature)) return raw;
    } catch {
      // The raw text is invalid: write the typed signature instead.
    }
  }
  return signatureToDict(meta.signature);
}

function setOrDelete(dict: Record<string, unknown>, key: string, value: unknown): void {
  if (value === null || value === undefined) delete dict[key];
  else dict[key] = value;
}

/**
 * Serializes metadata to `MLmodel` YAML the way PyYAML's `safe_dump(default_flow_style=False)`
 * lays it out: keys sorted, block style, sequences not indented under their key, strings that
 * YAML 1.1 would read as another type single-quoted.
 *
 * @param meta - The metadata to write.
 * @returns The YAML text, ending with a newline. Stable: parse then serialize gives the same text.
 */
export function serializeMLmodel(meta: ModelMetadata): string {
  return stringify(mlmodelToDict(meta), {
    version: '1.1',
    sortMapEntries: true,
    indentSeq: false,
    singleQuote: true,
    lineWidth: 80,
    aliasDuplicateObjects: false,
  });
}
