import {
  Float64,
  Table,
  Utf8,
  tableFromIPC,
  vectorFromArray,
  type RecordBatch,
} from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { IpcEncoder, type VectorByteSink } from '../../src/io/arrow-ipc.js';

/** Three batches of (x double, s utf8) with nulls. */
function batches(): RecordBatch[] {
  const n = 30;
  const table = new Table({
    x: vectorFromArray(
      Array.from({ length: n }, (_, i) => (i % 7 === 0 ? null : i / 4)),
      new Float64()
    ),
    s: vectorFromArray(
      Array.from({ length: n }, (_, i) => (i % 5 === 0 ? null : `row ${i}`)),
      new Utf8()
    ),
  });
  return [table.slice(0, 10), table.slice(10, 25), table.slice(25)].flatMap((t) => t.batches);
}

/** A sink that keeps the bytes and counts the calls of each kind. */
function memorySink(vectored: boolean) {
  const parts: Uint8Array[] = [];
  const calls = { write: 0, writev: 0 };
  const sink: VectorByteSink = {
    async write(chunk) {
      calls.write++;
      parts.push(typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk.slice());
    },
    ...(vectored
      ? {
          async writev(chunks: Uint8Array[]) {
            calls.writev++;
            for (const c of chunks) parts.push(c.slice());
          },
        }
      : {}),
  };
  const bytes = () => Buffer.concat(parts);
  return { sink, calls, bytes };
}

const rowsOf = (t: Table) => t.toArray().map((r) => ({ ...r }));

describe('IpcEncoder', () => {
  for (const kind of ['stream', 'file'] as const) {
    for (const vectored of [true, false]) {
      it(`${kind}, ${vectored ? 'one writev per batch' : 'a sink without writev'}: bytes read back as the same rows`, async () => {
        const { sink, calls, bytes } = memorySink(vectored);
        const enc = new IpcEncoder(sink, kind, null);
        const input = batches();
        for (const b of input) await enc.write(b);
        if (vectored) expect(calls).toEqual({ write: 0, writev: input.length });
        await enc.finish();
        if (vectored) expect(calls).toEqual({ write: 0, writev: input.length + 1 });
        const back = tableFromIPC(bytes());
        expect(back.batches.map((b) => b.numRows)).toEqual(input.map((b) => b.numRows));
        expect(rowsOf(back)).toEqual(rowsOf(new Table(input)));
        if (kind === 'file') expect(bytes().subarray(0, 6).toString('latin1')).toBe('ARROW1');
      });
    }
  }

  it('with no batch, finish writes the given schema and no rows', async () => {
    const { sink, bytes } = memorySink(true);
    const schema = batches()[0]!.schema;
    const enc = new IpcEncoder(sink, 'stream', schema);
    await enc.finish();
    const back = tableFromIPC(bytes());
    expect(back.numRows).toBe(0);
    expect(back.schema.fields.map((f) => `${f.name}: ${String(f.type)}`)).toEqual([
      'x: Float64',
      's: Utf8',
    ]);
  });
});
