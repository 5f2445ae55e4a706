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
 * @module
 */
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parseDocument, stringify, type Tags } from 'yaml';
import { ModelError } from '../errors.js';
import { parseSignature, signatureToDict } from '../signature/schema-json.js';
import type { ModelSignature } from '../signature/types.js';
import type { InputExampleInfo, ModelMetadata } from './types.js';

/** File name of the model configuration inside a package. */
export const MLMODEL_FILE_NAME = 'MLmodel';

/**
 * Most YAML aliases one MLmodel may dereference. Real files use none; the bound stops a
 * "billion laughs" document from expanding into gigabytes.
 */
const MAX_ALIAS_COUNT = 50;

/** Tags of YAML 1.1 that turn plain scalars into non-strings PyYAML's safe loader would not. */
const DROPPED_READ_TAGS = new Set([
  'tag:yaml.org,2002:timestamp',
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
  if (st?.isDirectory()) {
    const file = join(abs, MLMODEL_FILE_NAME);
    const fst = await stat(file).catch(() => undefined);
    if (fst?.isFile()) return file;
  } else if (st?.isFile()) {
    return abs;
  }
  throw new ModelError(
    'E_MLMODEL_MISSING',
    `Could not find an "MLmodel" configuration file at "${path}"`,
    {
      details: { path: abs },
    }
  );
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
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new ModelError(
      'E_MLMODEL_MISSING',
      `Could not find an "MLmodel" configuration file at "${path}"`,
      {
        details: { path: file },
        cause,
      }
    );
  }
  return parseMLmodel(text, file);
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
    const doc = parseDocument(text, { version: '1.1', customTags: readTags, prettyErrors: true });
    const first = doc.errors[0];
    if (first !== undefined) throw invalid(source, `malformed YAML: ${first.message}`, first);
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
