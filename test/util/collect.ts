/**
 * Draining async iterables of batches in tests.
 *
 * @module
 */
import type { RecordBatch } from 'apache-arrow';

/**
 * Drains an async iterable of batches.
 *
 * @param it - the batches.
 * @returns all batches, in order.
 */
export async function collect(it: AsyncIterable<RecordBatch>): Promise<RecordBatch[]> {
  const out: RecordBatch[] = [];
  for await (const b of it) out.push(b);
  return out;
}
