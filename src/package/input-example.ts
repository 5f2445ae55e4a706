/**
 * Input examples in MLflow's layout: `input_example.json` holds a DataFrame in pandas' `split`
 * orient (`{"columns": [...], "data": [[...], ...]}`) and `serving_input_example.json` holds the
 * scoring-server request for it (`{"dataframe_split": {...}}`), as `mlflow/models/utils.py`
 * `_Example` writes them.
 *
 * @module
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DataType,
  isArrowRecordBatch,
  isArrowTable,
  type RecordBatch,
  type Table,
} from 'apache-arrow';
import { danfoToTable, isDanfoFrame } from '../adapters/danfo.js';
import { ModelError } from '../errors.js';
import { jsonTextTooDeep, MAX_NESTING_DEPTH } from '../signature/nesting-depth.js';
import { readPackageFile } from './package-file.js';
import type { InputExampleInfo } from './types.js';

/** File name of the input example. */
export const INPUT_EXAMPLE_FILE_NAME = 'input_example.json';
/** File name of the serving request built from the input example. */
export const SERVING_INPUT_FILE_NAME = 'serving_input_example.json';

/** A DataFrame in pandas' `split` orient. */
export interface SplitFrame {
  columns: string[];
  data: unknown[][];
}

/**
 * Converts an input example to pandas' `split` orient.
 *
 * Accepted: an Arrow Table or RecordBatch; a danfo DataFrame; rows (array of plain objects; columns in order of
 * first appearance, missing cells null); columns (object whose values are arrays or typed
 * arrays of equal length); a single row (object of scalars); a 2-D array (columns named "0", "1",
 * ... as pandas does). Values become JSON: bigint -> number (string when unsafe), Date (and
 * Arrow timestamp/date cells) -> ISO string, Map -> object, bytes -> base64, typed arrays and Arrow vectors -> arrays, NaN -> null.
 *
 * @param example - The example.
 * @returns The split frame.
 * @throws {ModelError} E_INPUT_INVALID for anything else, or columns of unequal length.
 */
export function toSplitFrame(example: unknown): SplitFrame {
  if (isArrowTable(example) || isArrowRecordBatch(example)) {
    const t = example as Table | RecordBatch;
    const columns = t.schema.fields.map((f) => f.name);
    const vectors = columns.map((_, i) => t.getChildAt(i));
    // Timestamp and date cells read as epoch milliseconds: write them as ISO text, as a JS Date
    // is, so the serving example scores against a datetime column (a number would not).
    const isTime = t.schema.fields.map(
      (f) => DataType.isTimestamp(f.type) || DataType.isDate(f.type)
    );
    const data: unknown[][] = [];
    for (let r = 0; r < t.numRows; r++) {
      data.push(
        vectors.map((v, i) => {
          const x: unknown = v?.get(r);
          return isTime[i] === true && x !== null
            ? new Date(Number(x)).toISOString()
            : jsonValue(x);
        })
      );
    }
    return { columns, data };
  }
  if (Array.isArray(example)) {
    if (example.length > 0 && example.every((r) => Array.isArray(r))) {
      const width = Math.max(...(example as unknown[][]).map((r) => r.length));
      const columns = Array.from({ length: width }, (_, i) => String(i));
      return {
        columns,
        data: (example as unknown[][]).map((r) => columns.map((_, i) => jsonValue(r[i]))),
      };
    }
    if (example.every((r) => isPlainObject(r))) {
      const rows = example as Record<string, unknown>[];
      const columns: string[] = [];
      const seen = new Set<string>();
      for (const row of rows) {
        for (const k of Object.keys(row)) {
          if (!seen.has(k)) {
            seen.add(k);
            columns.push(k);
          }
        }
      }
      return {
        columns,
        data: rows.map((row) =>
          columns.map((c) => jsonValue(Object.hasOwn(row, c) ? row[c] : undefined))
        ),
      };
    }
    throw invalidExample('an array that is neither rows (objects) nor a 2-D array');
  }
  if (isPlainObject(example)) {
    const entries = Object.entries(example);
    const isColumn = (v: unknown): v is ArrayLike<unknown> =>
      Array.isArray(v) || ArrayBuffer.isView(v);
    if (entries.length > 0 && entries.every(([, v]) => isColumn(v))) {
      const lengths = new Set(entries.map(([, v]) => (v as ArrayLike<unknown>).length));
      if (lengths.size > 1) {
        throw invalidExample(
          `columns of unequal lengths (${entries.map(([k, v]) => `${k}: ${(v as ArrayLike<unknown>).length}`).join(', ')})`
        );
      }
      const n = [...lengths][0] ?? 0;
      const columns = entries.map(([k]) => k);
      const data = Array.from({ length: n }, (_, r) =>
        entries.map(([, v]) => jsonValue((v as ArrayLike<unknown>)[r]))
      );
      return { columns, data };
    }
    return { columns: entries.map(([k]) => k), data: [entries.map(([, v]) => jsonValue(v))] };
  }
  if (isDanfoFrame(example)) return toSplitFrame(danfoToTable(example));
  throw invalidExample(example === null ? 'null' : typeof example);
}

function invalidExample(found: string): ModelError {
  return new ModelError(
    'E_INPUT_INVALID',
    `inputExample must be an Arrow table, rows (array of objects), columns (object of arrays) or a 2-D array; found ${found}`,
    { details: { option: 'inputExample' } }
  );
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null) return false;
  const proto: unknown = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/**
 * One cell as JSON. `depth` counts the levels of nesting: a cell holds the split frame's third
 * level, and the limit keeps the recursion (here and in `JSON.stringify`) far from the stack's end.
 */
function jsonValue(v: unknown, depth = 3): unknown {
  if (v === undefined || v === null) return null;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (typeof v !== 'object') return v;
  if (depth > MAX_NESTING_DEPTH) {
    throw new ModelError(
      'E_INPUT_INVALID',
      `inputExample nests deeper than ${MAX_NESTING_DEPTH} levels`,
      { details: { option: 'inputExample', limit: MAX_NESTING_DEPTH } }
    );
  }
  const inner = (x: unknown): unknown => jsonValue(x, depth + 1);
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<unknown>, inner);
  if (Array.isArray(v)) return v.map(inner);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), inner(x)]));
  const o = v as { toArray?: () => unknown; toJSON?: () => unknown };
  // Arrow list cells are Vectors, struct cells are StructRows: both have toJSON.
  if (typeof o.toJSON === 'function' && !isPlainObject(v)) return jsonValue(o.toJSON(), depth + 1);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, inner(x)]));
}

/**
 * Writes `input_example.json` and `serving_input_example.json` into a package directory.
 *
 * @param dir - Package directory.
 * @param example - The example (see {@link toSplitFrame}).
 * @returns The `saved_input_example_info` to record in MLmodel.
 * @throws {ModelError} E_INPUT_INVALID when the example cannot be converted.
 */
export async function writeInputExample(dir: string, example: unknown): Promise<InputExampleInfo> {
  const split = toSplitFrame(example);
  await writeFile(join(dir, INPUT_EXAMPLE_FILE_NAME), JSON.stringify(split));
  await writeFile(
    join(dir, SERVING_INPUT_FILE_NAME),
    `${JSON.stringify({ dataframe_split: split }, null, 2)}\n`
  );
  return {
    artifact_path: INPUT_EXAMPLE_FILE_NAME,
    type: 'dataframe',
    pandas_orient: 'split',
    serving_input_path: SERVING_INPUT_FILE_NAME,
  };
}

/**
 * Reads the input example a package recorded, as parsed JSON (split frames stay in split form).
 *
 * The file is read under the package rule (see `package-file.ts`): its path stays inside the
 * package through symlinks, and it is a regular file. A missing file or one that is not JSON
 * gives null (MLflow packages of every age are shown); a hostile one is an error.
 *
 * @param dir - Package directory.
 * @param info - The package's `saved_input_example_info`.
 * @returns The parsed example, or null when the file is missing or is not valid JSON.
 * @throws {ModelError} E_ARTIFACT_PATH when the path is absolute or leaves the package (also
 *   through a symlink); E_ARTIFACT_MISSING when it names a FIFO, a directory or another
 *   non-regular file; E_FORMAT_MALFORMED when the JSON nests deeper than
 *   {@link MAX_NESTING_DEPTH} levels.
 */
export async function readInputExample(dir: string, info: InputExampleInfo): Promise<unknown> {
  const rel = info.artifact_path;
  const text = await readPackageFile(dir, rel, 'input example', { optional: true });
  if (text === null) return null;
  if (jsonTextTooDeep(text)) {
    throw new ModelError(
      'E_FORMAT_MALFORMED',
      `The input example "${rel}" in the package "${dir}" nests deeper than ${MAX_NESTING_DEPTH} levels`,
      { details: { path: rel, package: dir, limit: MAX_NESTING_DEPTH } }
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/**
 * Turns a split frame back into rows.
 *
 * @param split - `{columns, data}`.
 * @returns One object per row.
 */
export function splitToRows(split: SplitFrame): Record<string, unknown>[] {
  return split.data.map((row) =>
    Object.fromEntries(split.columns.map((c, i) => [c, row[i] ?? null]))
  );
}
