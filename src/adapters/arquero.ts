/**
 * arquero tables <-> Arrow.
 *
 * arquero is an optional peer dependency and this module never imports it: tables are
 * recognised by shape, read through their own methods, and results are built with the input
 * table's own class (`table.create`, `table.assign`), so they are tables of the caller's arquero
 * copy and nothing is loaded that the caller did not load.
 *
 * ## In (arquero -> Arrow), zero-copy where arquero allows
 * arquero 8 keeps each column as a plain array, a typed array, an apache-arrow Vector
 * (`aq.fromArrow(arrowJsTable)`) or a flechette Column (`aq.fromArrow(bytes)`, `aq.loadArrow`).
 * - typed arrays (`aq.table({ x: Float64Array })`, derived numeric columns) are wrapped as Arrow
 *   vectors without copying (Float64Array -> Float64, Int32Array -> Int32, BigInt64Array ->
 *   Int64, ...). NaN stays a value: arquero has no nulls in typed arrays;
 * - apache-arrow vectors are adopted zero-copy;
 * - flechette columns of the common types are wrapped zero-copy (`flechette-vector.ts`);
 * - everything else (plain arrays, dictionary wrappers, nested flechette types) is encoded by
 *   arquero itself (`table.toArrowIPC`, one copy), with flechette's type inference for plain
 *   arrays (integers -> the narrowest Int, floats -> Float64, strings -> Dictionary<Utf8>,
 *   Dates -> Date/Timestamp, booleans -> Bool, null/undefined -> null) and the column's own type
 *   for flechette columns.
 * A filtered or ordered table is reified first (arquero copies the visible rows; typed arrays
 * stay typed arrays).
 *
 * ## Out (Arrow -> arquero)
 * Numeric result columns without nulls (Float32/64, Int8/16/32, Uint8/16/32) become one
 * contiguous typed array (zero-copy for a single chunk); other columns become arrays of plain
 * values as `aq.fromArrow` gives them (Date objects for dates and timestamps, numbers for safe
 * 64-bit integers, arrays for lists, objects for structs and maps).
 *
 * @module
 */
import {
  DataType,
  type RecordBatch,
  type Table,
  Type,
  type Vector,
  isArrowVector,
  tableFromIPC,
} from 'apache-arrow';
import { ModelError } from '../errors.js';
import { arrowTypeName } from '../signature/arrow-types.js';
import { adoptVector, isArrowVectorLike } from './arrow-guards.js';
import { flechetteColumnToVector, isFlechetteColumn } from './flechette-vector.js';
import { tableOfVectors } from './record-batch.js';
import { typedArrayVector } from './typed-vector.js';

/**
 * An arquero table (`ColumnTable`) as jsfunc's public types describe it: the members jsfunc
 * calls, by shape. arquero is an optional peer dependency, so jsfunc's declarations never import
 * its types; an arquero `ColumnTable` is an `ArqueroTable`, and the tables jsfunc returns are
 * `ColumnTable`s of the same arquero copy as the input (type them with `as ColumnTable`).
 */
export interface ArqueroTable {
  /** Rows (after any filter). */
  numRows(): number;
  /** Column names, in order. */
  columnNames(): string[];
  /** One column's backing data (array, typed array, Arrow column). */
  column(name: string): unknown;
  /** Whether a filter is applied. */
  isFiltered(): boolean;
  /** Whether an order is applied. */
  isOrdered(): boolean;
  /** The table with filter and order materialised. */
  reify(): ArqueroTable;
  /** Arrow IPC bytes of (some of) the columns (`{ columns, types }`). */
  toArrowIPC(options?: object): Uint8Array;
  /** The table plus the columns of other tables or column objects (same names replaced). */
  assign(...tables: object[]): ArqueroTable;
  /** A new table of the same class (`{ data, names, filter, groups, order }`). */
  create(options: object): ArqueroTable;
}

/**
 * True for an arquero table (any arquero copy), recognised by shape: the methods `numRows`,
 * `columnNames`, `column`, `reify`, `assign`, `create` and `toArrowIPC`.
 *
 * @param x - any value
 * @returns whether `x` is an arquero table
 */
export function isArqueroTable(x: unknown): x is ArqueroTable {
  if (typeof x !== 'object' || x === null) return false;
  const t = x as Record<string, unknown>;
  return ['numRows', 'columnNames', 'column', 'reify', 'assign', 'create', 'toArrowIPC'].every(
    (m) => typeof t[m] === 'function'
  );
}

/** Whether a column object is an apache-arrow Vector rather than a flechette Column. */
function isArrowJsVector(c: unknown): boolean {
  if (isArrowVector(c)) return true;
  if (!isArrowVectorLike(c)) return false;
  const first = (c as unknown as { data: unknown[] }).data[0];
  return (
    first === undefined || (typeof first === 'object' && first !== null && 'nullBitmap' in first)
  );
}

/**
 * Converts an arquero table to an Arrow Table, column by column (see the module doc for what is
 * zero-copy).
 *
 * @param table - an arquero table
 * @returns a Table with the same columns, in order
 * @throws {ModelError} E_INPUT_INVALID when arquero cannot encode a column (mixed value types)
 */
export function arqueroToTable(table: ArqueroTable): Table {
  const base = table.isFiltered() || table.isOrdered() ? table.reify() : table;
  const names = base.columnNames();
  const vectors: (Vector | undefined)[] = names.map((name) => {
    const column = base.column(name);
    if (ArrayBuffer.isView(column)) return typedArrayVector(column);
    if (isArrowJsVector(column)) return adoptVector(column as Vector);
    return flechetteColumnToVector(column);
  });
  const rest = names.filter((_, i) => vectors[i] === undefined);
  if (rest.length > 0) {
    const encoded = encodeColumns(table, base, rest);
    rest.forEach((name) => (vectors[names.indexOf(name)] = encoded.getChild(name)!));
  }
  return tableOfVectors(names, vectors as Vector[]);
}

/** The columns `names` of `base`, encoded by arquero (flechette types kept where known). */
function encodeColumns(original: ArqueroTable, base: ArqueroTable, names: string[]): Table {
  const types: Record<string, unknown> = {};
  for (const name of names) {
    // The column of the unreified table still carries its flechette type.
    const column = original.column(name);
    if (isFlechetteColumn(column) && !isArrowJsVector(column)) {
      types[name] = (column as { type: unknown }).type;
    }
  }
  try {
    return tableFromIPC(base.toArrowIPC({ columns: names, types }));
  } catch (cause) {
    // Name the columns that fail on their own (the error path only).
    const failing = names.filter((name) => {
      try {
        base.toArrowIPC({ columns: [name], types: name in types ? { [name]: types[name] } : {} });
        return false;
      } catch {
        return true;
      }
    });
    const columns = failing.length > 0 ? failing : names;
    throw new ModelError(
      'E_INPUT_INVALID',
      `arquero could not encode column${columns.length > 1 ? 's' : ''} ${columns.join(', ')} as Arrow: ${cause instanceof Error ? cause.message : String(cause)}`,
      { details: { columns }, cause }
    );
  }
}

/**
 * Numeric types whose values fit a contiguous JS typed array as arquero holds them (by type id
 * and parameters: a decoded worker result is a plain `Float`/`Int`, not a `Float64` subclass).
 */
function isPlainNumeric(type: DataType): boolean {
  if (DataType.isFloat(type)) return type.precision === 1 || type.precision === 2;
  return DataType.isInt(type) && type.bitWidth <= 32;
}

/** One Arrow value as arquero holds it (see the module doc). */
function plainValue(v: unknown, type: DataType): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : v;
  }
  if (DataType.isTimestamp(type) || DataType.isDate(type)) return new Date(Number(v));
  if (DataType.isList(type) || DataType.isFixedSizeList(type) || type.typeId === Type.LargeList) {
    const child = (type as unknown as { children: { type: DataType }[] }).children[0]!.type;
    return Array.from(v as Iterable<unknown>, (x) => plainValue(x, child));
  }
  if (DataType.isStruct(type)) {
    const out: Record<string, unknown> = {};
    const row = v as Record<string, unknown>;
    for (const f of type.children) out[f.name] = plainValue(row[f.name], f.type as DataType);
    return out;
  }
  if (DataType.isMap(type)) {
    const valueType = type.children[0]!.type.children[1]!.type as DataType;
    const out: Record<string, unknown> = {};
    for (const [k, x] of v as Iterable<[unknown, unknown]>)
      out[String(k)] = plainValue(x, valueType);
    return out;
  }
  return v;
}

/**
 * One Arrow column as arquero column data: a typed array for numbers without nulls, else an
 * array of plain values.
 *
 * @param vector - an Arrow vector (our copy)
 * @returns the column data
 */
export function arqueroColumnOf(vector: Vector): unknown[] | ArrayBufferView {
  const type = vector.type as DataType;
  if (isPlainNumeric(type) && vector.nullCount === 0) {
    return vector.toArray() as unknown as ArrayBufferView;
  }
  if (DataType.isUtf8(type) || DataType.isBool(type))
    return Array.from(vector as Iterable<unknown>);
  const out = new Array<unknown>(vector.length);
  let i = 0;
  for (const v of vector as Iterable<unknown>) out[i++] = plainValue(v, type);
  return out;
}

/**
 * A one-column table of the same arquero class as `like` (what `apply` returns for arquero
 * input: `table.assign(result)` adds it).
 *
 * @param like - the input table (its class builds the result)
 * @param name - the column name
 * @param vector - the values
 * @returns a new arquero table
 */
export function arqueroFromVector(like: ArqueroTable, name: string, vector: Vector): ArqueroTable {
  return like.create({
    data: { [name]: arqueroColumnOf(adoptVector(vector)) },
    names: [name],
    filter: null,
    groups: null,
    order: null,
  });
}

/**
 * `input` plus the column (a column of that name is replaced in place, as arquero's `assign`
 * and Spark's `withColumn` do). Filters and order are materialised, groups kept.
 *
 * @param input - the input table
 * @param name - the column name
 * @param vector - one value per row of `input`
 * @returns a new arquero table
 */
export function arqueroWithColumn(input: ArqueroTable, name: string, vector: Vector): ArqueroTable {
  return input.assign({ [name]: arqueroColumnOf(adoptVector(vector)) });
}

/**
 * A record batch as a table of the same arquero class as `like` (what `mapBatches` yields for
 * arquero input).
 *
 * @param like - the input table (its class builds the result)
 * @param batch - the output batch
 * @returns a new arquero table
 * @throws {ModelError} E_INPUT_INVALID for a column type arquero cannot hold
 */
export function arqueroFromBatch(like: ArqueroTable, batch: RecordBatch): ArqueroTable {
  const names = batch.schema.fields.map((f) => f.name);
  const data: Record<string, unknown> = {};
  names.forEach((name, i) => {
    const child = batch.getChildAt(i)!;
    if (DataType.isUnion(child.type)) {
      throw new ModelError(
        'E_INPUT_INVALID',
        `Column ${name} has Arrow type ${arrowTypeName(child.type)}, which jsfunc does not convert to arquero.`,
        { details: { column: name, type: arrowTypeName(child.type) } }
      );
    }
    data[name] = arqueroColumnOf(child);
  });
  return like.create({ data, names, filter: null, groups: null, order: null });
}
