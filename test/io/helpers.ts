import type { RecordBatch } from 'apache-arrow';
import { tempDir as makeTempDir } from '../util/temp-dir.js';

export { collect } from '../util/collect.js';

/** A fresh temporary directory (prefix `jsfunc-io-`), removed by the returned cleanup. */
export function tempDir(): ReturnType<typeof makeTempDir> {
  return makeTempDir('jsfunc-io-');
}

/** Rows of batches as plain objects (Arrow values as `get` returns them, lists/structs as JSON). */
export function rows(batches: readonly RecordBatch[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const b of batches) {
    for (let r = 0; r < b.numRows; r++) {
      const row: Record<string, unknown> = {};
      b.schema.fields.forEach((f, i) => {
        const v: unknown = b.getChildAt(i)?.get(r);
        row[f.name] = normalise(v);
      });
      out.push(row);
    }
  }
  return out;
}

function normalise(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (v instanceof Uint8Array) return Array.from(v);
  if (typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') {
    return JSON.parse(
      JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x))
    ) as unknown;
  }
  if (typeof v === 'object' && Symbol.iterator in (v as object))
    return [...(v as Iterable<unknown>)].map(normalise);
  return v;
}

/** `name: Type` of each field. */
export function typesOf(batch: RecordBatch): string[] {
  return batch.schema.fields.map((f) => `${f.name}: ${String(f.type)}`);
}
