/**
 * How many rows an input file holds, for the progress bar's percentage and ETA: exact for
 * Parquet (footer metadata), estimated for CSV/NDJSON from the bytes of a head sample, and
 * refined for Arrow IPC from the bytes of the batches read so far (IPC footers list batches,
 * not rows).
 *
 * @module
 */
import { openAsBlob } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { RecordBatch } from 'apache-arrow';
import * as pq from 'parquet-wasm';
import type { Format } from '../io/format.js';
import type { RowTotal } from './progress.js';

const SAMPLE_BYTES = 1 << 20;

/**
 * Counts or estimates the data rows of a file without reading it all.
 *
 * @param path - the file
 * @param format - its format
 * @returns the total, or null when it cannot be told up front (Arrow IPC, unreadable file)
 */
export async function estimateRowTotal(path: string, format: Format): Promise<RowTotal | null> {
  try {
    if (format === 'parquet') {
      const file = await pq.ParquetFile.fromFile(await openAsBlob(path));
      try {
        return { rows: file.metadata().fileMetadata().numRows(), exact: true };
      } finally {
        file.free();
      }
    }
    if (format === 'csv' || format === 'ndjson')
      return await estimateTextRows(path, format === 'csv');
    return null;
  } catch {
    // The reader reports unreadable or malformed files with a proper message; no total here.
    return null;
  }
}

async function estimateTextRows(path: string, header: boolean): Promise<RowTotal | null> {
  const size = (await stat(path)).size;
  const fh = await open(path, 'r');
  let text: string;
  try {
    const buf = Buffer.alloc(Math.min(size, SAMPLE_BYTES));
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    text = buf.subarray(0, bytesRead).toString('latin1');
  } finally {
    await fh.close();
  }
  let lines = text.split('\n').length - 1;
  const whole = text.length >= size;
  if (whole && text.length > 0 && !text.endsWith('\n')) lines++;
  const headerBytes = header ? text.indexOf('\n') + 1 : 0;
  const rows = lines - (header ? 1 : 0);
  if (whole) return { rows: Math.max(0, rows), exact: false };
  if (rows <= 0) return null;
  // Average bytes per row over the complete lines of the sample.
  const sampled = text.lastIndexOf('\n') + 1 - headerBytes;
  return { rows: Math.round(((size - headerBytes) * rows) / sampled), exact: false };
}

/**
 * Refines a total for Arrow IPC input: uncompressed IPC bodies are about as large as the
 * in-memory batches, so rows * fileSize / bytesSeen estimates the total.
 */
export class IpcRowEstimator {
  #bytes = 0;
  #rows = 0;

  /** @param fileSize - the input file's size in bytes */
  constructor(readonly fileSize: number) {}

  /**
   * Adds one input batch.
   *
   * @param batch - a batch just read
   * @returns the refined estimate
   */
  observe(batch: RecordBatch): RowTotal | null {
    this.#rows += batch.numRows;
    this.#bytes += batch.data.byteLength;
    if (this.#bytes === 0) return null;
    return {
      rows: Math.max(this.#rows, Math.round((this.#rows * this.fileSize) / this.#bytes)),
      exact: false,
    };
  }
}
