import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  Decimal,
  Field,
  Float32,
  Int32,
  RecordBatch,
  Schema,
  Struct,
  Table,
  TimestampMillisecond,
  Utf8,
  makeData,
  vectorFromArray,
} from 'apache-arrow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBatchWriter } from '../../src/io/write-batches.js';
import { tempDir } from './helpers.js';

let dir = '';
let cleanup: () => Promise<void> = async () => {};
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  await cleanup();
});

function batch(ids: number[], names: (string | null)[]): RecordBatch {
  return new Table({
    id: vectorFromArray(ids, new Int32()),
    name: vectorFromArray(names, new Utf8()),
  }).batches[0] as RecordBatch;
}

async function written(ext: string, batches: RecordBatch[], schema?: Schema): Promise<string> {
  const path = join(dir, `out.${ext}`);
  const w = createBatchWriter(path, { schema: schema ?? null });
  for (const b of batches) await w.write(b);
  await w.close();
  return readFile(path, 'utf8');
}

describe('createBatchWriter: text formats through the byte encoders', () => {
  it('CSV: the header once, then every batch', async () => {
    expect(await written('csv', [batch([1, 2], ['a', null]), batch([3], ['"q"'])])).toBe(
      'id,name\n1,"a"\n2,\n3,"""q"""\n'
    );
  });

  it('CSV: an empty first batch still writes the header; no batch writes the schema header', async () => {
    expect(await written('csv', [batch([], []), batch([7], ['x'])])).toBe('id,name\n7,"x"\n');
    const schema = batch([], []).schema;
    expect(await written('csv', [], schema)).toBe('id,name\n');
    expect(await written('csv', [])).toBe('');
  });

  it('NDJSON: one object per row across batches; no batch, no bytes', async () => {
    expect(await written('ndjson', [batch([1], ['a']), batch([2], [null])])).toBe(
      '{"id":1,"name":"a"}\n{"id":2,"name":null}\n'
    );
    expect(await written('jsonl', [], batch([], []).schema)).toBe('');
  });

  it('decimal, float32 and timestamp columns are written as values, not as their buffers', async () => {
    const fields = [
      new Field('amount', new Decimal(2, 10, 128), true),
      new Field('rate', new Float32(), true),
      new Field('at', new TimestampMillisecond(), true),
    ];
    const children = [
      makeData({
        type: new Decimal(2, 10, 128),
        length: 1,
        nullCount: 0,
        data: Uint32Array.of(217600, 0, 0, 0),
      }),
      vectorFromArray([Math.fround(1 / 60)], new Float32()).data[0],
      makeData({
        type: new TimestampMillisecond(),
        length: 1,
        nullCount: 0,
        data: BigInt64Array.of(1686009600000n),
      } as never),
    ];
    const b = new RecordBatch(
      new Schema(fields),
      makeData({ type: new Struct(fields), length: 1, nullCount: 0, children: children as never })
    );
    expect(await written('csv', [b])).toBe(
      'amount,rate,at\n2176.00,0.016666668,2023-06-06 00:00:00\n'
    );
    expect(await written('ndjson', [b])).toBe(
      '{"amount":2176.00,"rate":0.016666668,"at":"2023-06-06T00:00:00"}\n'
    );
  });

  it('a large batch followed by a small one (the reused buffer grows, then is reset)', async () => {
    const n = 50000;
    const ids = Array.from({ length: n }, (_, i) => i);
    const names = ids.map((i) => `name-${i}`.repeat(3));
    const csv = await written('csv', [batch(ids, names), batch([-1], ['end'])]);
    const lines = csv.split('\n');
    expect(lines.length).toBe(n + 3);
    expect(lines[1]).toBe('0,"name-0name-0name-0"');
    expect(lines[n]).toBe(`${n - 1},"${`name-${n - 1}`.repeat(3)}"`);
    expect(lines[n + 1]).toBe('-1,"end"');
    const nd = await written('ndjson', [batch(ids, names), batch([-1], ['end'])]);
    expect(
      nd.endsWith('{"id":49999,"name":"name-49999name-49999name-49999"}\n{"id":-1,"name":"end"}\n')
    ).toBe(true);
  });
});
