/**
 * Test data for the Parquet piece tests: a table with one column of every type jsfunc writes to
 * Parquet, rows numbered from an offset so that consecutive pieces hold consecutive values; and
 * a DuckDB helper.
 *
 * @module
 */
import { DuckDBInstance } from '@duckdb/node-api';
import {
  Binary,
  Bool,
  type DataType,
  DateDay,
  Decimal,
  Dictionary,
  Field,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  Int8,
  List,
  makeData,
  makeVector,
  RecordBatch,
  Schema,
  Struct,
  Table,
  Timestamp,
  TimeUnit,
  Uint16,
  Uint32,
  Uint64,
  Uint8,
  Utf8,
  type Vector,
  vectorFromArray,
} from 'apache-arrow';

/** Every 5th value is null (row index based), except in `nn`. */
const isNull = (i: number) => i % 5 === 3;

function maybe<T>(i: number, v: T): T | null {
  return isNull(i) ? null : v;
}

function validity(n: number, offset: number): Uint8Array {
  const bits = new Uint8Array(Math.ceil(n / 8));
  for (let r = 0; r < n; r++) if (!isNull(offset + r)) bits[r >> 3]! |= 1 << (r & 7);
  return bits;
}

function fixedWidth<T extends DataType>(
  type: T,
  values: ArrayLike<unknown>,
  n: number,
  offset: number
) {
  return makeVector(
    makeData({
      type,
      length: n,
      nullCount: Array.from({ length: n }, (_, r) => r).filter((r) => isNull(offset + r)).length,
      nullBitmap: validity(n, offset),
      data: values as never,
    } as never)
  ) as Vector<T>;
}

/**
 * A table of `n` rows whose values derive from their row number `offset + r`: one column per
 * type (ints and uints of every width, floats, bool, utf8, binary, date, timestamps with and
 * without zone, decimal, list, struct, dictionary, an all-null column, a non-nullable column
 * `nn` = minus the row number).
 *
 * @param offset - the first row's number
 * @param n - rows
 * @returns the table
 */
export function allTypesTable(offset: number, n: number): Table {
  const idx = Array.from({ length: n }, (_, r) => offset + r);
  const ts = BigInt64Array.from(idx, (i) => BigInt(1_600_000_000_000_000 + i * 1_000_003));
  const dec = new Uint32Array(n * 4);
  idx.forEach((i, r) => {
    // 128-bit little-endian two's complement of (i * 137 - 500) (a DECIMAL(10, 2)).
    const v = BigInt(i * 137 - 500);
    const u = BigInt.asUintN(128, v);
    for (let w = 0; w < 4; w++) dec[r * 4 + w] = Number((u >> BigInt(32 * w)) & 0xffffffffn);
  });
  const t = new Table({
    i8: vectorFromArray(
      idx.map((i) => maybe(i, (i % 256) - 128)),
      new Int8()
    ),
    i16: vectorFromArray(
      idx.map((i) => maybe(i, (i * 7) % 30000)),
      new Int16()
    ),
    i32: vectorFromArray(
      idx.map((i) => maybe(i, i * 1000 - 77)),
      new Int32()
    ),
    i64: vectorFromArray(
      idx.map((i) => maybe(i, BigInt(i) * 10_000_000_000n)),
      new Int64()
    ),
    u8: vectorFromArray(
      idx.map((i) => maybe(i, i % 256)),
      new Uint8()
    ),
    u16: vectorFromArray(
      idx.map((i) => maybe(i, (i * 3) % 65536)),
      new Uint16()
    ),
    u32: vectorFromArray(
      idx.map((i) => maybe(i, 4_000_000_000 - i)),
      new Uint32()
    ),
    u64: vectorFromArray(
      idx.map((i) => maybe(i, 18_000_000_000_000_000_000n + BigInt(i))),
      new Uint64()
    ),
    f32: vectorFromArray(
      idx.map((i) => maybe(i, i / 4)),
      new Float32()
    ),
    f64: vectorFromArray(
      idx.map((i) => maybe(i, i * 0.1 + 1e-9)),
      new Float64()
    ),
    bool: vectorFromArray(
      idx.map((i) => maybe(i, i % 3 === 0)),
      new Bool()
    ),
    utf8: vectorFromArray(
      idx.map((i) => maybe(i, `row ${i} é ✓`)),
      new Utf8()
    ),
    bin: vectorFromArray(
      idx.map((i) => maybe(i, Uint8Array.of(i & 255, 0, 255, (i >> 8) & 255))),
      new Binary()
    ),
    date: fixedWidth(
      new DateDay(),
      Int32Array.from(idx, (i) => 18000 + i),
      n,
      offset
    ),
    ts: fixedWidth(new Timestamp(TimeUnit.MICROSECOND), ts, n, offset),
    ts_tz: fixedWidth(new Timestamp(TimeUnit.MICROSECOND, 'UTC'), ts.slice(), n, offset),
    dec: fixedWidth(new Decimal(2, 10, 128), dec, n, offset),
    list: vectorFromArray(
      idx.map((i) =>
        maybe(
          i,
          Array.from({ length: i % 4 }, (_, k) => i + k)
        )
      ),
      new List(new Field('item', new Int32(), true))
    ),
    struct: vectorFromArray(
      idx.map((i) => maybe(i, { x: i * 2, y: i % 2 === 0 ? `s${i}` : null })),
      new Struct([new Field('x', new Int32(), true), new Field('y', new Utf8(), true)])
    ),
    dict: vectorFromArray(
      idx.map((i) => maybe(i, ['red', 'green', 'blue'][i % 3]!)),
      new Dictionary(new Utf8(), new Int32())
    ),
    nulls: vectorFromArray(
      idx.map(() => null as number | null),
      new Int32()
    ),
    nn: makeVector(Float64Array.from(idx, (i) => -i)),
  });
  // A fixed schema whatever `n`: every column nullable except `nn` (Arrow JS infers
  // nullability from the data, which would make pieces of different sizes disagree).
  const schema = new Schema(t.schema.fields.map((f) => f.clone({ nullable: f.name !== 'nn' })));
  return new Table(schema, ...t.batches.map((b) => new RecordBatch(schema, b.data)));
}

/**
 * Runs SQL in a fresh in-memory DuckDB and returns the rows as JSON-safe objects.
 *
 * @param sql - the query
 * @returns the rows
 */
export async function duckRows(sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjectsJson();
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/**
 * Runs statements in a fresh in-memory DuckDB (e.g. a COPY that writes a test file).
 *
 * @param sql - the statements
 */
export async function duckRun(sql: string): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const connection = await instance.connect();
  try {
    await connection.run(sql);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** A SQL string literal. */
export function lit(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}
