/**
 * How each DuckDB column type is read as Arrow (`duckdb-read.ts` gathers the chunks).
 *
 * Types map as: BOOLEAN Bool; TINYINT..BIGINT Int8..Int64; UTINYINT..UBIGINT Uint8..Uint64;
 * FLOAT Float32; DOUBLE Float64; DATE DateDay; TIME TimeMicrosecond; TIMESTAMP (_S, _MS, _NS)
 * Timestamp of the same unit; TIMESTAMPTZ Timestamp[us, UTC]; DECIMAL(w,s) Decimal128(w,s);
 * HUGEINT Decimal128(38,0); VARCHAR and ENUM Utf8; BLOB Binary. Other types (LIST, STRUCT,
 * MAP, ARRAY, UNION, UUID, INTERVAL, TIME_TZ, BIT, ...) are refused up front, naming the column:
 * cast them in SQL.
 *
 * @module
 */
import {
  Binary,
  Bool,
  type DataType,
  DateDay,
  Decimal,
  Float32,
  Float64,
  Int8,
  Int16,
  Int32,
  Int64,
  TimeMicrosecond,
  TimestampMicrosecond,
  TimestampMillisecond,
  TimestampNanosecond,
  TimestampSecond,
  Uint8,
  Uint16,
  Uint32,
  Uint64,
  Utf8,
} from 'apache-arrow';
import { ModelError } from '../errors.js';
import { DT, type DuckDBTypeLike } from './duckdb-bindings.js';

/** How one DuckDB column's values are laid out in its chunks. */
export type Layout =
  | { kind: 'fixed'; width: number }
  | { kind: 'bool' }
  | { kind: 'decimal'; width: number }
  | { kind: 'string' }
  | { kind: 'enum'; storage: number; members: Uint8Array[] };

/** One column: its name, Arrow type and layout. */
export interface ColumnPlan {
  name: string;
  type: DataType;
  layout: Layout;
}

/** The Arrow type and read layout of a DuckDB column type, or undefined if unsupported. */
function planColumn(name: string, t: DuckDBTypeLike): ColumnPlan | undefined {
  const fixed = (type: DataType, width: number): ColumnPlan => ({
    name,
    type,
    layout: { kind: 'fixed', width },
  });
  switch (t.typeId) {
    case DT.BOOLEAN:
      return { name, type: new Bool(), layout: { kind: 'bool' } };
    case DT.TINYINT:
      return fixed(new Int8(), 1);
    case DT.SMALLINT:
      return fixed(new Int16(), 2);
    case DT.INTEGER:
      return fixed(new Int32(), 4);
    case DT.BIGINT:
      return fixed(new Int64(), 8);
    case DT.UTINYINT:
      return fixed(new Uint8(), 1);
    case DT.USMALLINT:
      return fixed(new Uint16(), 2);
    case DT.UINTEGER:
      return fixed(new Uint32(), 4);
    case DT.UBIGINT:
      return fixed(new Uint64(), 8);
    case DT.FLOAT:
      return fixed(new Float32(), 4);
    case DT.DOUBLE:
      return fixed(new Float64(), 8);
    case DT.DATE:
      return fixed(new DateDay(), 4);
    case DT.TIME:
      return fixed(new TimeMicrosecond(), 8);
    case DT.TIMESTAMP:
      return fixed(new TimestampMicrosecond(), 8);
    case DT.TIMESTAMP_S:
      return fixed(new TimestampSecond(), 8);
    case DT.TIMESTAMP_MS:
      return fixed(new TimestampMillisecond(), 8);
    case DT.TIMESTAMP_NS:
      return fixed(new TimestampNanosecond(), 8);
    case DT.TIMESTAMP_TZ:
      return fixed(new TimestampMicrosecond('UTC'), 8);
    case DT.HUGEINT:
      return fixed(new Decimal(0, 38, 128), 16);
    case DT.DECIMAL: {
      const width = t.width ?? 18;
      const type = new Decimal(t.scale ?? 0, width, 128);
      const storage = width <= 4 ? 2 : width <= 9 ? 4 : width <= 18 ? 8 : 16;
      return storage === 16
        ? fixed(type, 16)
        : { name, type, layout: { kind: 'decimal', width: storage } };
    }
    case DT.VARCHAR:
      return { name, type: new Utf8(), layout: { kind: 'string' } };
    case DT.BLOB:
      return { name, type: new Binary(), layout: { kind: 'string' } };
    case DT.ENUM: {
      const storage =
        t.internalTypeId === DT.UTINYINT ? 1 : t.internalTypeId === DT.USMALLINT ? 2 : 4;
      const encoder = new TextEncoder();
      const members = (t.values ?? []).map((v) => encoder.encode(v));
      return { name, type: new Utf8(), layout: { kind: 'enum', storage, members } };
    }
    default:
      return undefined;
  }
}

/**
 * The read plan of a result's columns.
 *
 * @param names - column names
 * @param types - DuckDB column types
 * @returns one plan per column
 * @throws {ModelError} E_INPUT_INVALID naming the first column of an unsupported type
 */
export function planColumns(
  names: readonly string[],
  types: readonly DuckDBTypeLike[]
): ColumnPlan[] {
  return names.map((name, i) => {
    const plan = planColumn(name, types[i]!);
    if (plan === undefined) {
      const type = String(types[i]);
      throw new ModelError(
        'E_INPUT_INVALID',
        `DuckDB column ${name} has type ${type}, which jsfunc does not read as Arrow; cast it in SQL (e.g. CAST(${name} AS VARCHAR)).`,
        { details: { column: name, type } }
      );
    }
    return plan;
  });
}
