/**
 * The DuckDB objects jsfunc touches, by shape, and the raw `@duckdb/node-bindings` functions it
 * calls on them (loaded lazily).
 *
 * `@duckdb/node-api` is an optional peer dependency: jsfunc's declarations never import it, and
 * a connection is used through its public methods (`stream`, `run`, `createAppender`,
 * `registerScalarFunction`). The column data is read and written through the raw C-API
 * bindings the node-api itself is built on (`vector_get_data`, `copy_data_to_vector`, ...),
 * resolved from the node-api's own location: the node-api's typed vector classes convert value
 * by value, while these copy whole buffers. `@duckdb/node-api` 1.5.6 exposes no Arrow export
 * (the C API's `duckdb_query_arrow`/`duckdb_data_chunk_to_arrow` are not bound), so the chunk ->
 * Arrow conversion is jsfunc's own (`duckdb-read.ts`).
 *
 * @module
 */
import { createRequire } from 'node:module';
import { ModelError } from '../errors.js';

/** A DuckDB column type as the node-api describes it (`DuckDBType`), by shape. */
export interface DuckDBTypeLike {
  /** The DuckDB type id (`DuckDBTypeId`: 1 BOOLEAN, 5 BIGINT, 11 DOUBLE, 17 VARCHAR, ...). */
  readonly typeId: number;
  /** DECIMAL: total digits. */
  readonly width?: number;
  /** DECIMAL: digits after the point. */
  readonly scale?: number;
  /** ENUM: the members, by index. */
  readonly values?: readonly string[];
  /** ENUM: the storage type id (6 UTINYINT, 7 USMALLINT, 8 UINTEGER). */
  readonly internalTypeId?: number;
  /** The SQL name, e.g. `DECIMAL(18,3)`. */
  toString(): string;
}

/** A data chunk as the node-api hands it out (`DuckDBDataChunk`): the raw handle and size. */
export interface DuckDBDataChunkLike {
  /** The raw `@duckdb/node-bindings` chunk. */
  readonly chunk: unknown;
  /** Rows in the chunk. */
  readonly rowCount: number;
}

/** A query result (`DuckDBResult`), by shape. */
export interface DuckDBResultLike {
  /** Column names, in order. */
  columnNames(): string[];
  /** Column types, in order. */
  columnTypes(): DuckDBTypeLike[];
  /** The next chunk; null (or an empty chunk) at the end. */
  fetchChunk(): Promise<DuckDBDataChunkLike | null>;
}

/** An appender (`DuckDBAppender`), by shape. */
export interface DuckDBAppenderLike {
  /** Columns of the target table. */
  readonly columnCount: number;
  /** One column's type. */
  columnType(columnIndex: number): DuckDBTypeLike;
  /** Appends a whole chunk (only its `chunk` handle is read). */
  appendDataChunk(chunk: { readonly chunk: unknown }): void;
  /** Writes what was appended. */
  flushSync(): void;
  /** Flushes and closes. */
  closeSync(): void;
}

/**
 * A DuckDB connection as jsfunc's public types describe it: the `@duckdb/node-api`
 * `DuckDBConnection` methods jsfunc calls, by shape (a `DuckDBConnection` is one).
 */
export interface DuckDBConnectionLike {
  /** Starts a streaming query. */
  stream(sql: string, values?: any): Promise<DuckDBResultLike>;
  /** Runs a statement to completion. */
  run(sql: string, values?: any): Promise<unknown>;
  /** An appender for a table. */
  createAppender(
    table: string,
    schema?: string | null,
    catalog?: string | null
  ): Promise<DuckDBAppenderLike>;
  /** Registers a scalar function (only its `scalar_function` handle is read). */
  registerScalarFunction(scalarFunction: any): void;
}

/** The raw handles of `@duckdb/node-bindings` (opaque objects). */
export type RawVector = object;
/** A raw data chunk handle. */
export type RawChunk = object;
/** A raw logical type handle. */
export type RawLogicalType = object;

/** The `@duckdb/node-bindings` functions jsfunc uses (see their C API namesakes). */
export interface DuckDBBindings {
  vector_size(): number;
  data_chunk_get_vector(chunk: RawChunk, column: number): RawVector;
  data_chunk_get_size(chunk: RawChunk): number;
  data_chunk_set_size(chunk: RawChunk, size: number): void;
  data_chunk_reset(chunk: RawChunk): void;
  create_data_chunk(types: readonly RawLogicalType[]): RawChunk;
  create_logical_type(typeId: number): RawLogicalType;
  vector_get_data(vector: RawVector, byteCount: number): Uint8Array;
  vector_get_validity(vector: RawVector, byteCount: number): Uint8Array | null;
  vector_ensure_validity_writable(vector: RawVector): void;
  vector_assign_string_element_len(vector: RawVector, index: number, data: Uint8Array): void;
  get_data_from_pointer(
    buffer: ArrayBufferLike,
    pointerOffset: number,
    byteCount: number
  ): Uint8Array;
  copy_data_to_vector(
    vector: RawVector,
    targetByteOffset: number,
    source: ArrayBuffer,
    sourceByteOffset: number,
    byteCount: number
  ): void;
  copy_data_to_vector_validity(
    vector: RawVector,
    targetByteOffset: number,
    source: ArrayBuffer,
    sourceByteOffset: number,
    byteCount: number
  ): void;
  create_scalar_function(): object;
  scalar_function_set_name(fn: object, name: string): void;
  scalar_function_add_parameter(fn: object, type: RawLogicalType): void;
  scalar_function_set_return_type(fn: object, type: RawLogicalType): void;
  scalar_function_set_function(
    fn: object,
    main: (info: object, input: RawChunk, output: RawVector) => void
  ): void;
  scalar_function_set_special_handling(fn: object): void;
  readonly sizeof_bool: number;
}

let loaded: DuckDBBindings | undefined;

/**
 * The raw bindings, loaded on first use from where `@duckdb/node-api` resolves them.
 *
 * @returns the bindings module
 * @throws {ModelError} E_INPUT_INVALID when `@duckdb/node-api` is not installed
 */
export function duckdbBindings(): DuckDBBindings {
  if (loaded === undefined) {
    try {
      const api = createRequire(import.meta.url).resolve('@duckdb/node-api');
      loaded = createRequire(api)('@duckdb/node-bindings') as DuckDBBindings;
    } catch (cause) {
      throw new ModelError(
        'E_INPUT_INVALID',
        'Reading or writing DuckDB data needs the optional peer dependency @duckdb/node-api: npm install @duckdb/node-api',
        { details: { package: '@duckdb/node-api' }, cause }
      );
    }
  }
  return loaded;
}

/** DuckDB type ids (`DuckDBTypeId` of `@duckdb/node-api`) used here. */
export const DT = {
  BOOLEAN: 1,
  TINYINT: 2,
  SMALLINT: 3,
  INTEGER: 4,
  BIGINT: 5,
  UTINYINT: 6,
  USMALLINT: 7,
  UINTEGER: 8,
  UBIGINT: 9,
  FLOAT: 10,
  DOUBLE: 11,
  TIMESTAMP: 12,
  DATE: 13,
  TIME: 14,
  HUGEINT: 16,
  VARCHAR: 17,
  BLOB: 18,
  DECIMAL: 19,
  TIMESTAMP_S: 20,
  TIMESTAMP_MS: 21,
  TIMESTAMP_NS: 22,
  ENUM: 23,
  TIMESTAMP_TZ: 31,
} as const;

/** SQL names of the type ids jsfunc writes (for CREATE TABLE and messages). */
export const DT_NAMES: Readonly<Record<number, string>> = {
  1: 'BOOLEAN',
  2: 'TINYINT',
  3: 'SMALLINT',
  4: 'INTEGER',
  5: 'BIGINT',
  6: 'UTINYINT',
  7: 'USMALLINT',
  8: 'UINTEGER',
  9: 'UBIGINT',
  10: 'FLOAT',
  11: 'DOUBLE',
  12: 'TIMESTAMP',
  13: 'DATE',
  14: 'TIME',
  16: 'HUGEINT',
  17: 'VARCHAR',
  18: 'BLOB',
  20: 'TIMESTAMP_S',
  21: 'TIMESTAMP_MS',
  22: 'TIMESTAMP_NS',
  31: 'TIMESTAMPTZ',
};
