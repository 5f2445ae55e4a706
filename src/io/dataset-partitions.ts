/**
 * Hive-style partitions of a dataset: `key=value/` directories between a dataset's root and its
 * files, and the constant Arrow columns that carry their values next to each file's own columns.
 *
 * Names are unescaped as Spark and Hive escape them (`%XX`, see {@link unescapePathName}); the
 * value `__HIVE_DEFAULT_PARTITION__` (Spark's and Hive's name for a null partition value) is null.
 * A value becomes the type the model signature gives the column, converted from text by the same
 * rules as a CSV cell (`convertText`); a column the signature does not name is Utf8, as Spark
 * reads a partition column when type inference is off and DuckDB when it cannot infer one.
 *
 * @module
 */
import {
  type Bool,
  type Data,
  type DataType,
  Field,
  Type as ArrowType,
  Utf8,
  makeBuilder,
  makeData,
} from 'apache-arrow';
import { ModelError } from '../errors.js';
import type { Schema, ValueType } from '../signature/types.js';
import {
  buildColumnData,
  convertText,
  signatureColumnTypes,
  textColumnArrowType,
  valueTypeName,
} from './text-columns.js';

/** One partition of a file: `[key, value]`, the value null for Hive's default partition. */
export type PartitionValue = readonly [key: string, value: string | null];

/** MLflow value types of partition columns, by column name; a missing or null entry is Utf8. */
export type PartitionTypes = Readonly<Record<string, ValueType | null | undefined>>;

/** The directory name Spark and Hive give a partition whose value is null. */
export const HIVE_DEFAULT_PARTITION = '__HIVE_DEFAULT_PARTITION__';

const HEX2 = /^[0-9A-Fa-f]{2}$/;
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/**
 * Undoes the `%XX` escaping of a partition directory name. Spark and Hive escape only ASCII
 * (`%`, `=`, `/`, `:`, `#`, `?`, control characters, ...) and keep other characters as they are;
 * DuckDB and pyarrow percent-encode UTF-8 bytes. A run of `%XX` escapes is therefore decoded as
 * UTF-8 when it is valid UTF-8, and byte by byte (as Spark's `unescapePathName` does) when not.
 * A `%` not followed by two hex digits stays as it is.
 *
 * @param name - the escaped text
 * @returns the unescaped text
 */
export function unescapePathName(name: string): string {
  if (!name.includes('%')) return name;
  let out = '';
  let i = 0;
  while (i < name.length) {
    const bytes: number[] = [];
    while (name[i] === '%' && HEX2.test(name.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(name.slice(i + 1, i + 3), 16));
      i += 3;
    }
    if (bytes.length > 0) {
      try {
        out += utf8Strict.decode(Uint8Array.from(bytes));
      } catch {
        out += String.fromCharCode(...bytes);
      }
      continue;
    }
    out += name[i];
    i++;
  }
  return out;
}

/**
 * The Hive partitions named by the directories between a dataset's root and one of its files:
 * every directory segment of the form `key=value` (split at the first `=`, the key not empty),
 * in path order. Other directory segments are not partitions.
 *
 * @param dirs - the directory segments between the root and the file (the file name excluded)
 * @param file - the file, for error messages
 * @returns the partitions, keys and values unescaped, the default partition as null
 * @throws {ModelError} E_FORMAT_MALFORMED when one key appears twice on the path
 */
export function parseHivePartitions(dirs: readonly string[], file: string): PartitionValue[] {
  const out: PartitionValue[] = [];
  for (const segment of dirs) {
    const eq = segment.indexOf('=');
    if (eq <= 0) continue;
    const key = unescapePathName(segment.slice(0, eq));
    const raw = segment.slice(eq + 1);
    if (out.some(([k]) => k === key)) {
      throw new ModelError(
        'E_FORMAT_MALFORMED',
        `${file}: the partition column '${key}' appears twice on the path.`,
        { details: { file, column: key } }
      );
    }
    out.push([key, raw === HIVE_DEFAULT_PARTITION ? null : unescapePathName(raw)]);
  }
  return out;
}

/**
 * The signature types of partition columns: the type the model input signature gives each
 * column by NAME (a named column schema, or named tensors through their dtype; a single unnamed
 * tensor types every column, as for text columns). An unnamed column schema binds by position
 * and says nothing about partition columns, which come after the file's own columns.
 *
 * @param keys - the partition column names
 * @param schema - the model input signature, or null/undefined
 * @returns the types by column name (null: Utf8)
 */
export function partitionValueTypes(
  keys: readonly string[],
  schema: Schema | null | undefined
): Record<string, ValueType | null> {
  const first = schema?.[0];
  const named = first !== undefined && (first.kind === 'tensor' || first.name !== undefined);
  const types = named ? signatureColumnTypes(schema, keys) : keys.map(() => null);
  return Object.fromEntries(keys.map((k, i) => [k, types[i] ?? null]));
}

/** The Arrow type of a partition column of signature type `vt` (Utf8 when none or `any`). */
function arrowTypeOf(vt: ValueType | null | undefined): DataType {
  return (vt == null ? null : textColumnArrowType(vt)) ?? new Utf8();
}

/**
 * The Arrow fields of partition columns (all nullable), in key order.
 *
 * @param keys - the partition column names, e.g. `dataset.partitionKeys`
 * @param types - see {@link PartitionTypes}
 * @returns one field per key
 */
export function partitionFields(keys: readonly string[], types?: PartitionTypes): Field[] {
  return keys.map((k) => new Field(k, arrowTypeOf(types?.[k]), true));
}

/**
 * Arrow columns holding one file's partition values for `numRows` rows: plain (not
 * dictionary-encoded) columns, so every consumer of a batch (signature enforcement, the worker
 * wire format, every writer) handles them as any other column. They live in shared memory, so a
 * batch carrying them crosses to a worker thread without a copy. Building one costs a fill of
 * its buffers: Utf8 values are copied by doubling, fixed-width values filled natively.
 *
 * @param file - the file: `partitions` as {@link parseHivePartitions} returns them, `path` for
 *   messages
 * @param numRows - the number of rows
 * @param types - see {@link PartitionTypes}; text is converted like a CSV cell of that type
 * @returns one column per partition, in the file's key order
 * @throws {ModelError} E_FORMAT_MALFORMED when a value does not convert to its column's type,
 *   naming the file, column and value
 */
export function partitionColumns(
  file: { readonly path: string; readonly partitions: readonly PartitionValue[] },
  numRows: number,
  types?: PartitionTypes
): Data[] {
  return file.partitions.map(([key, text]) => {
    const vt = types?.[key] ?? null;
    const type = arrowTypeOf(vt);
    let value: unknown = text;
    if (vt !== null && text !== null) {
      try {
        value = convertText(text, vt);
      } catch (e) {
        throw new ModelError(
          'E_FORMAT_MALFORMED',
          `${file.path}: partition column '${key}': cannot read ${JSON.stringify(text)} as ` +
            `${valueTypeName(vt)} (${e instanceof Error ? e.message : String(e)}).`,
          {
            details: { file: file.path, column: key, value: text, type: valueTypeName(vt) },
            cause: e,
          }
        );
      }
    }
    return constantColumn(type, value ?? null, numRows);
  });
}

type Typed = Int8Array | Int16Array | Int32Array | BigInt64Array | Float32Array | Float64Array;

/** A column of `n` copies of one converted value (null: all null), in shared memory. */
function constantColumn(type: DataType, value: unknown, n: number): Data {
  const id = type.typeId;
  const nullBitmap = value === null ? new Uint8Array(new SharedArrayBuffer((n + 7) >> 3)) : null;
  const nullCount = value === null ? n : 0;
  if (id === ArrowType.Utf8 || id === ArrowType.Binary) {
    const bytes =
      value === null
        ? new Uint8Array(0)
        : typeof value === 'string'
          ? Buffer.from(value, 'utf8')
          : (value as Uint8Array);
    if (bytes.length * n > 2 ** 31 - 1) {
      // 32-bit offsets: the builder path would fail the same way; say what happened instead.
      throw new ModelError(
        'E_INPUT_INVALID',
        `A partition value of ${bytes.length} bytes repeated over ${n} rows exceeds 2 GiB.`,
        { details: { bytes: bytes.length, rows: n } }
      );
    }
    const valueOffsets = new Int32Array(new SharedArrayBuffer(4 * (n + 1)));
    for (let i = 1; i <= n; i++) valueOffsets[i] = i * bytes.length;
    return makeData({
      type: type as Utf8,
      length: n,
      nullCount,
      nullBitmap,
      valueOffsets,
      data: repeatBytes(bytes, n),
    });
  }
  if (id === ArrowType.Bool) {
    const data = new Uint8Array(new SharedArrayBuffer((n + 7) >> 3));
    if (value === true) data.fill(0xff);
    return makeData({ type: type as Bool, length: n, nullCount, nullBitmap, data });
  }
  if (id === ArrowType.Int || id === ArrowType.Float || id === ArrowType.Timestamp) {
    // One value through Arrow's builder gives its exact storage (bigint, float32 rounding, ms).
    const one = makeBuilder({ type, nullValues: [null, undefined] });
    one.append(value);
    const cell = (one.finish().flush() as Data).values as Typed;
    const Ctor = cell.constructor as new (b: ArrayBufferLike) => Typed;
    const data = new Ctor(new SharedArrayBuffer(n * cell.BYTES_PER_ELEMENT));
    if (value !== null) (data.fill as (v: number | bigint) => Typed)(cell[0] as number | bigint);
    return makeData({ type, length: n, nullCount, nullBitmap, data } as never) as Data;
  }
  // Nested types (array/object/map partitions are JSON text; rare): Arrow's builder, n values.
  return buildColumnData(type, new Array<unknown>(n).fill(value));
}

/** `n` copies of `bytes` in one shared buffer, copied by doubling (log n native copies). */
function repeatBytes(bytes: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(new SharedArrayBuffer(bytes.length * n));
  if (out.length === 0) return out;
  out.set(bytes, 0);
  let filled = bytes.length;
  while (filled < out.length) {
    const take = Math.min(filled, out.length - filled);
    out.copyWithin(filled, 0, take);
    filled += take;
  }
  return out;
}
