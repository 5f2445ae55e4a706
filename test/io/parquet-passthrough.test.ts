import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataType, Dictionary, Float64, Int32, Table, Utf8, vectorFromArray } from 'apache-arrow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileSink } from '../../src/io/byte-sink.js';
import { ParquetAssembler } from '../../src/io/parquet-assembler.js';
import { decodeArrowSchemaValue } from '../../src/io/parquet-arrow-schema.js';
import { columnChunkRanges, readFileSlices } from '../../src/io/parquet-column-chunks.js';
import {
  footerKeyValueMetadata,
  footerRowGroups,
  footerRowGroupStructs,
  type ParquetFooter,
  readParquetFooter,
} from '../../src/io/parquet-footer.js';
import {
  ColumnChunkId,
  ColumnMetaDataId,
  RowGroupId,
  SortingColumnId,
} from '../../src/io/parquet-metadata.js';
import { encodeParquetPiece, type ParquetPiece } from '../../src/io/parquet-piece.js';
import { passthroughPiece, readPassthroughInput } from '../../src/io/parquet-passthrough.js';
import { decodeParquetSlices } from '../../src/io/parquet-row-groups.js';
import { rowGroupPiece } from '../../src/io/parquet-row-group-piece.js';
import { readParquetBatches } from '../../src/io/parquet.js';
import {
  getField,
  getInt,
  getStruct,
  getStructList,
  setField,
  ThriftType,
} from '../../src/io/thrift-compact.js';
import { errorOf } from '../util/model-error.js';
import { collect, rows, tempDir, typesOf } from './helpers.js';
import { allTypesTable, duckRows, duckRun, lit } from './parquet-test-data.js';

let dir = '';
let cleanup: () => Promise<void> = async () => {};
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  await cleanup();
});

async function assemble(path: string, pieces: readonly ParquetPiece[]): Promise<void> {
  const fh = await open(path, 'w');
  try {
    const out = new ParquetAssembler(fileSink(fh));
    for (const p of pieces) await out.append(p);
    await out.finish();
  } finally {
    await fh.close();
  }
}

/** A passthrough piece of `rowGroups` of `path` plus `extra`, reading only those bytes. */
async function piece(
  path: string,
  footer: ParquetFooter,
  rowGroups: number[],
  extra: Table
): Promise<ParquetPiece> {
  const slices = await readFileSlices(path, columnChunkRanges(footer, rowGroups));
  return passthroughPiece({ footer, rowGroups, slices }, extra);
}

/** How many column chunks of a file refer to a bloom filter. */
function bloomFilters(footer: ParquetFooter): number {
  let n = 0;
  for (const rg of footerRowGroupStructs(footer)) {
    for (const chunk of getStructList(rg, RowGroupId.columns)) {
      const md = getStruct(chunk, ColumnChunkId.metaData)!;
      if (getField(md, ColumnMetaDataId.bloomFilterOffset) !== undefined) n++;
    }
  }
  return n;
}

/** `f(delay, distance)` for the rows of the given row groups, read from the input by DuckDB. */
async function predictions(path: string): Promise<number[]> {
  const r = await duckRows(`SELECT delay, distance FROM read_parquet(${lit(path)})`);
  return r.map((x) => 0.8 * Number(x.delay) + 0.01 * Number(x.distance) + 2);
}

describe('passthroughPiece', () => {
  it('copies a DuckDB ZSTD file byte for byte and appends a double column DuckDB reads', async () => {
    const input = join(dir, 'flights.parquet');
    await duckRun(
      `COPY (SELECT TIMESTAMP '2001-01-01' + INTERVAL (i * 37) MINUTE AS date,
                    ((i * 7919) % 300) - 60 AS delay,
                    (i * 31) % 2500 + 50 AS distance,
                    ['ABQ', 'BOS', 'LAX', 'SFO'][i % 4 + 1] AS origin,
                    CASE WHEN i % 11 = 0 THEN NULL ELSE 'D' || (i % 97) END AS destination,
                    (i * 3 / 7)::DECIMAL(12, 3) AS amount,
                    [i, i % 5] AS legs
             FROM range(7000) r(i))
       TO ${lit(input)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 2048)`
    );
    const footer = await readParquetFooter(input);
    const groups = footerRowGroups(footer);
    expect(groups.length).toBeGreaterThanOrEqual(3);
    const counts = groups.map((g) => g.numRows);
    const firstTwo = counts[0]! + counts[1]!;
    expect(groups[0]!.columns.every((c) => c.codec === 6)).toBe(true); // ZSTD

    // Two splits, each a passthrough piece, in order.
    const want = await predictions(input);
    // As a worker does: read the split once, decode the model's columns from those bytes,
    // predict, and build the piece from the same bytes.
    const split = async (rowGroups: number[]): Promise<ParquetPiece> => {
      const source = await readPassthroughInput(input, rowGroups);
      const batches = decodeParquetSlices(input, source.footer, rowGroups, source.slices, {
        columns: ['delay', 'distance'],
      });
      expect(batches[0]!.schema.fields.map((f) => f.name)).toEqual(['delay', 'distance']);
      const values = batches.flatMap((b) =>
        Array.from({ length: b.numRows }, (_, r) => {
          const delay = Number(b.getChild('delay')!.get(r));
          return 0.8 * delay + 0.01 * Number(b.getChild('distance')!.get(r)) + 2;
        })
      );
      const extra = new Table({ prediction: vectorFromArray(values, new Float64()) });
      return passthroughPiece(source, extra);
    };
    const output = join(dir, 'scored.parquet');
    const rest = groups.map((_, g) => g).slice(2);
    expect(firstTwo).toBeLessThan(7000);
    await assemble(output, [await split([0, 1]), await split(rest)]);

    // DuckDB: the input columns row for row, and the predictions.
    const got = await duckRows(`SELECT * EXCLUDE (prediction) FROM read_parquet(${lit(output)})`);
    expect(got).toEqual(await duckRows(`SELECT * FROM read_parquet(${lit(input)})`));
    const preds = await duckRows(`SELECT prediction FROM read_parquet(${lit(output)})`);
    expect(preds.map((r) => r.prediction)).toEqual(want);
    const types = await duckRows(`DESCRIBE SELECT * FROM read_parquet(${lit(output)})`);
    expect(types.map((t) => `${String(t.column_name)} ${String(t.column_type)}`)).toEqual([
      'date TIMESTAMP',
      'delay BIGINT',
      'distance BIGINT',
      'origin VARCHAR',
      'destination VARCHAR',
      'amount DECIMAL(12,3)',
      'legs BIGINT[]',
      'prediction DOUBLE',
    ]);

    // The input's column chunks are in the output unchanged, byte for byte.
    const inBytes = await readFile(input);
    const outBytes = await readFile(output);
    const outFooter = await readParquetFooter(output);
    const outGroups = footerRowGroups(outFooter);
    expect(outGroups.map((g) => g.numRows)).toEqual(counts);
    groups.forEach((g, i) => {
      expect(outGroups[i]!.columns.map((c) => c.path.join('.'))).toEqual([
        ...g.columns.map((c) => c.path.join('.')),
        'prediction',
      ]);
      g.columns.forEach((c, k) => {
        const o = outGroups[i]!.columns[k]!;
        expect(
          Buffer.compare(inBytes.subarray(c.start, c.end), outBytes.subarray(o.start, o.end))
        ).toBe(0);
      });
    });
    // DuckDB wrote no Arrow schema, so none is written (types come from Parquet's).
    expect(footerKeyValueMetadata(outFooter).map((kv) => kv.key)).not.toContain('ARROW:schema');
    // DuckDB wrote bloom filters after the row groups; they are not copied, so the copied
    // chunks no longer refer to them.
    expect(bloomFilters(footer)).toBeGreaterThan(0);
    expect(bloomFilters(outFooter)).toBe(0);

    // parquet-wasm reads it too.
    const back = await collect(readParquetBatches(output));
    expect(back.reduce((n, b) => n + b.numRows, 0)).toBe(7000);
    expect(back[0]!.getChild('prediction')!.get(1)).toBe(want[1]);
  });

  it('replaces an input column named like the prediction', async () => {
    const input = join(dir, 'has-prediction.parquet');
    await duckRun(
      `COPY (SELECT i AS id, -1.0::DOUBLE AS prediction, 'x' || i AS label FROM range(5000) r(i))
       TO ${lit(input)} (FORMAT parquet, ROW_GROUP_SIZE 2048)`
    );
    const footer = await readParquetFooter(input);
    const all = footerRowGroups(footer).map((_, g) => g);
    expect(all.length).toBeGreaterThan(1);
    const values = Array.from({ length: 5000 }, (_, i) => i / 2);
    const output = join(dir, 'replaced.parquet');
    await assemble(output, [
      await piece(
        input,
        footer,
        all,
        new Table({
          prediction: vectorFromArray(values, new Float64()),
        })
      ),
    ]);
    const got = await duckRows(`SELECT * FROM read_parquet(${lit(output)})`);
    expect(Object.keys(got[0]!)).toEqual(['id', 'label', 'prediction']);
    expect(got.map((r) => r.prediction)).toEqual(values);
    expect(got.map((r) => r.label)).toEqual(values.map((_, i) => `x${i}`));
    // The dropped column's bytes are not in the file.
    const outFooter = await readParquetFooter(output);
    expect(footerRowGroups(outFooter)[0]!.columns.map((c) => c.path[0])).toEqual([
      'id',
      'label',
      'prediction',
    ]);
  });

  it('rewrites ARROW:schema: input Arrow types kept, extra fields appended with their types', async () => {
    // A file written by arrow-rs (with ARROW:schema), holding a dictionary and tz timestamps.
    const input = join(dir, 'arrow.parquet');
    const source = allTypesTable(0, 600);
    await assemble(input, [
      encodeParquetPiece(source.slice(0, 300)),
      encodeParquetPiece(source.slice(300, 600)),
    ]);
    const footer = await readParquetFooter(input);
    // Two extra columns, one replacing `utf8`, one a dictionary (only ARROW:schema says so).
    const extra = new Table({
      utf8: vectorFromArray(
        Array.from({ length: 600 }, (_, i) => `new ${i}`),
        new Utf8()
      ),
      label: vectorFromArray(
        Array.from({ length: 600 }, (_, i) => (i % 2 ? 'even' : 'odd')),
        new Dictionary(new Utf8(), new Int32())
      ),
    });
    const output = join(dir, 'merged.parquet');
    await assemble(output, [await piece(input, footer, [0, 1], extra)]);

    const kv = footerKeyValueMetadata(await readParquetFooter(output));
    const schema = decodeArrowSchemaValue(kv.find((x) => x.key === 'ARROW:schema')!.value!)!;
    const names = source.schema.fields.map((f) => f.name).filter((n) => n !== 'utf8');
    expect(schema.fields.map((f) => f.name)).toEqual([...names, 'utf8', 'label']);
    // Dictionary ids stay unique (the extra column's was numbered by another writer).
    const ids = schema.fields.flatMap((f) =>
      DataType.isDictionary(f.type) ? [(f.type as Dictionary).id] : []
    );
    expect(ids).toEqual([0, 1]);

    const back = await collect(readParquetBatches(output));
    const expected = new Table({
      ...Object.fromEntries(names.map((n) => [n, source.getChild(n)!])),
      utf8: extra.getChild('utf8')!,
      label: extra.getChild('label')!,
    });
    expect(typesOf(back[0]!)).toEqual(typesOf(expected.batches[0]!));
    expect(typesOf(back[0]!)).toContain('label: Dictionary<Int32, Utf8>');
    expect(typesOf(back[0]!)).toContain('ts_tz: Timestamp<MICROSECOND, UTC>');
    expect(rows(back)).toEqual(rows(expected.batches));
    // DuckDB agrees on the values.
    const d = await duckRows(`SELECT utf8, label, nn FROM read_parquet(${lit(output)}) LIMIT 3`);
    expect(d).toEqual([
      { utf8: 'new 0', label: 'odd', nn: -0 },
      { utf8: 'new 1', label: 'even', nn: -1 },
      { utf8: 'new 2', label: 'odd', nn: -2 },
    ]);
  });

  it('needs one extra row per input row', async () => {
    const input = join(dir, 'small.parquet');
    await duckRun(`COPY (SELECT i FROM range(10) r(i)) TO ${lit(input)} (FORMAT parquet)`);
    const footer = await readParquetFooter(input);
    const slices = await readFileSlices(input, columnChunkRanges(footer, [0]));
    const e = errorOf(() =>
      passthroughPiece(
        { footer, rowGroups: [0], slices },
        new Table({ p: vectorFromArray([1, 2], new Float64()) })
      )
    );
    expect(e.code).toBe('E_INTERNAL');
    expect(e.message).toContain('10 rows');
  });

  it('no row groups: a piece with the merged schema and no rows', async () => {
    const input = join(dir, 'small.parquet');
    await duckRun(`COPY (SELECT i FROM range(10) r(i)) TO ${lit(input)} (FORMAT parquet)`);
    const footer = await readParquetFooter(input);
    const p = passthroughPiece(
      { footer, rowGroups: [], slices: [] },
      new Table({ p: vectorFromArray([] as number[], new Float64()) })
    );
    expect(p.rowGroups).toEqual([]);
    const output = join(dir, 'none.parquet');
    await assemble(output, [p]);
    const cols = await duckRows(`DESCRIBE SELECT * FROM read_parquet(${lit(output)})`);
    expect(cols.map((c) => c.column_name)).toEqual(['i', 'p']);
  });
});

describe('rowGroupPiece', () => {
  it('renumbers sorting_columns and cuts them at the first dropped column', async () => {
    const input = join(dir, 'sorted.parquet');
    await duckRun(
      `COPY (SELECT i AS a, i * 2 AS b, i * 3 AS c FROM range(20) r(i)) TO ${lit(input)} (FORMAT parquet)`
    );
    const footer = await readParquetFooter(input);
    const rg = footerRowGroupStructs(footer)[0]!;
    const sorting = (...cols: number[]) => ({
      elementType: ThriftType.STRUCT,
      items: cols.map((c) => ({
        fields: [
          { id: SortingColumnId.columnIdx, type: ThriftType.I32, value: c },
          { id: SortingColumnId.descending, type: ThriftType.BOOL, value: false },
          { id: SortingColumnId.nullsFirst, type: ThriftType.BOOL, value: true },
        ],
      })),
    });
    const slices = await readFileSlices(input, columnChunkRanges(footer, [0]));
    const sortedBy = (cols: number[], keep: (n: string) => boolean) => {
      setField(rg, RowGroupId.sortingColumns, ThriftType.LIST, sorting(...cols));
      const p = rowGroupPiece(footer, [0], slices, keep);
      return getStructList(p.rowGroups[0]!, RowGroupId.sortingColumns).map((s) =>
        getInt(s, SortingColumnId.columnIdx)
      );
    };
    expect(sortedBy([2, 0], (n) => n !== 'b')).toEqual([1, 0]);
    expect(sortedBy([0, 1, 2], (n) => n !== 'b')).toEqual([0]);
    expect(sortedBy([1, 2], (n) => n !== 'b')).toEqual([]);
  });
});
