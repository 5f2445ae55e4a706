import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Float64, Int64, Table, makeVector, tableFromArrays, vectorFromArray } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { HEADER_BYTES, generateEmbeddingTable, readHeader } from './generate-artifact.mjs';
import EmbeddingLookupModel from './model.js';

const dir = mkdtempSync(join(tmpdir(), 'jsfunc-embedding-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ROWS = 50;
const DIMS = 16;
const tablePath = join(dir, 'small.f32');
generateEmbeddingTable({ outPath: tablePath, rows: ROWS, dims: DIMS, seed: 7 });

/** The float data of a table file (copied: Buffers may sit at any offset of a shared slab). */
function floatsOf(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset + HEADER_BYTES, b.byteOffset + b.length));
}

/** Independent reference: float64 cosine of row (id mod ROWS) with q[j] = (j mod 7) - 3. */
function reference(id: number, x: number): number {
  const floats = floatsOf(tablePath);
  const row = ((id % ROWS) + ROWS) % ROWS;
  let dot = 0;
  let ee = 0;
  let qq = 0;
  for (let j = 0; j < DIMS; j++) {
    const e = floats[row * DIMS + j]!;
    const q = (j % 7) - 3;
    dot += e * q;
    ee += e * e;
    qq += q * q;
  }
  return (x * dot) / Math.sqrt(ee * qq);
}

function load(path = tablePath, modelConfig: Record<string, unknown> = { loadLogPath: '' }) {
  const model = new EmbeddingLookupModel();
  const context = { artifacts: { embeddings: path }, modelConfig };
  model.loadContext(context);
  return { model, context };
}

describe('udf/embedding-lookup generator', () => {
  it('writes a deterministic table of the requested size', () => {
    const again = join(dir, 'again.f32');
    const other = join(dir, 'other.f32');
    const info = generateEmbeddingTable({ outPath: again, rows: ROWS, dims: DIMS, seed: 7 });
    generateEmbeddingTable({ outPath: other, rows: ROWS, dims: DIMS, seed: 8 });
    expect(info.bytes).toBe(HEADER_BYTES + ROWS * DIMS * 4);
    expect(readFileSync(again).equals(readFileSync(tablePath))).toBe(true);
    expect(readFileSync(other).equals(readFileSync(tablePath))).toBe(false);
    expect(readHeader(again)).toEqual({ rows: ROWS, dims: DIMS, seed: 7, crc32: info.crc32 });
    expect(readHeader(join(dir, 'absent.f32'))).toBeNull();
    const floats = floatsOf(again);
    expect(floats.every((v) => v >= -1 && v < 1)).toBe(true);
    expect(() => generateEmbeddingTable({ outPath: other, rows: 0 })).toThrow(/rows must be/);
  });
});

describe('udf/embedding-lookup model', () => {
  it('scores x * cos(embedding[id], q) for long ids', () => {
    const { model, context } = load();
    expect(model.shape).toEqual({ rows: ROWS, dims: DIMS });
    const ids = [0, 1, 17, 49];
    const xs = [1, -2, 0.5, 3];
    const table = tableFromArrays({
      id: BigInt64Array.from(ids, (v) => BigInt(v)),
      x: Float64Array.from(xs),
    });
    const out = model.predict(context, table);
    expect(Array.from(out)).toEqual(ids.map((id, i) => expect.closeTo(reference(id, xs[i]!), 6)));
  });

  it('hashes out-of-range, negative and huge ids onto the table', () => {
    const { model, context } = load();
    const ids = [3n, 53n, -47n, 2n ** 60n + 3n];
    const table = tableFromArrays({
      id: BigInt64Array.from(ids),
      x: new Float64Array(ids.length).fill(1),
    });
    const out = model.predict(context, table);
    const expected = ids.map((id) => Number(((id % 50n) + 50n) % 50n));
    expect(Array.from(out)).toEqual(expected.map((row) => expect.closeTo(reference(row, 1), 6)));
  });

  it('accepts int32 ids and maps null ids or x to NaN', () => {
    const { model, context } = load();
    const int32 = tableFromArrays({ id: Int32Array.from([5, 6]), x: Float64Array.from([1, 1]) });
    expect(model.predict(context, int32)[1]).toBeCloseTo(reference(6, 1), 6);
    const withNulls = new Table({
      id: vectorFromArray([1n, null, 2n], new Int64()),
      x: vectorFromArray([1, 1, null], new Float64()),
    });
    const out = model.predict(context, withNulls);
    expect(out[0]).toBeCloseTo(reference(1, 1), 6);
    expect(out[1]).toBeNaN();
    expect(out[2]).toBeNaN();
    expect(() =>
      model.predict(context, new Table({ x: makeVector(Float64Array.from([1])) }))
    ).toThrow(/column "id" is missing/);
  });

  it('rejects corrupted, truncated and foreign files', () => {
    const bytes = readFileSync(tablePath);
    const corrupt = Buffer.from(bytes);
    corrupt[HEADER_BYTES + 10]! ^= 0xff;
    writeFileSync(join(dir, 'corrupt.f32'), corrupt);
    expect(() => load(join(dir, 'corrupt.f32'))).toThrow(/CRC-32 mismatch/);
    writeFileSync(join(dir, 'short.f32'), bytes.subarray(0, bytes.length - 4));
    expect(() => load(join(dir, 'short.f32'))).toThrow(/header says 50 x 16 float32/);
    writeFileSync(join(dir, 'foreign.f32'), 'hello world, this is not a table at all');
    expect(() => load(join(dir, 'foreign.f32'))).toThrow(/not an embedding table/);
  });

  it('appends one load-log line per loadContext', () => {
    const log = join(dir, 'loads.log');
    load(tablePath, { loadLogPath: log });
    load(tablePath, { loadLogPath: log });
    expect(readFileSync(log, 'utf8').split('\n').filter(Boolean)).toHaveLength(2);
  });
});
