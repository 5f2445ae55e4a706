/**
 * Positional reads of column chunks: which byte ranges of a Parquet file hold given row groups
 * (and, optionally, only some of their columns), and reading them.
 *
 * Neighbouring ranges are read together when the gap between them is small: one read of a few
 * extra bytes is cheaper than two reads (each read is a trip through libuv's thread pool).
 *
 * @module
 */
import { type FileHandle, open } from 'node:fs/promises';
import { ModelError } from '../errors.js';
import { fileNotFound, malformedFile } from './file-errors.js';
import { footerRowGroupStructs, footerSchema, type ParquetFooter } from './parquet-footer.js';
import { rowGroupInfo, topLevelColumns } from './parquet-metadata.js';

/** Bytes of a file: `bytes` holds the file's bytes `[start, start + bytes.length)`. */
export interface FileSlice {
  start: number;
  bytes: Uint8Array;
}

/** Ranges closer than this are read as one. */
const COALESCE_GAP = 64 * 1024;

/**
 * The byte ranges that hold the given row groups' chunks of the kept top-level columns, sorted
 * and merged.
 *
 * @param footer - the file's footer
 * @param rowGroups - row group indexes
 * @param keep - which top-level columns are needed; default all
 * @returns `[start, end)` ranges
 * @throws {ModelError} E_OPTION_INVALID for a row group index out of range
 */
export function columnChunkRanges(
  footer: ParquetFooter,
  rowGroups: readonly number[],
  keep: (name: string) => boolean = () => true
): [number, number][] {
  const groups = footerRowGroupStructs(footer);
  const tops = topLevelColumns(footerSchema(footer));
  const leaves = new Set<number>();
  for (const t of tops) {
    if (keep(t.name)) for (let l = t.leaves[0]; l < t.leaves[1]; l++) leaves.add(l);
  }
  const ranges: [number, number][] = [];
  for (const g of rowGroups) {
    const rg = groups[g];
    if (rg === undefined) throw rowGroupOutOfRange(g, groups.length);
    rowGroupInfo(rg).columns.forEach((c, l) => {
      if (leaves.has(l) && c.end > c.start) ranges.push([c.start, c.end]);
    });
  }
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last !== undefined && r[0] <= last[1] + COALESCE_GAP) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return merged;
}

/**
 * Reads byte ranges of a file.
 *
 * @param path - the file (named in errors)
 * @param ranges - `[start, end)` ranges
 * @param handle - an open handle to read from; default: the file is opened and closed
 * @returns one slice per range, each in its own buffer (transferable)
 * @throws {ModelError} E_FILE_NOT_FOUND; E_FORMAT_MALFORMED when the file is shorter than a range
 */
export async function readFileSlices(
  path: string,
  ranges: readonly (readonly [number, number])[],
  handle?: FileHandle
): Promise<FileSlice[]> {
  let fh = handle;
  if (fh === undefined) {
    try {
      fh = await open(path, 'r');
    } catch (e) {
      throw fileNotFound(path, e);
    }
  }
  try {
    const out: FileSlice[] = [];
    for (const [start, end] of ranges) {
      const bytes = new Uint8Array(end - start);
      let done = 0;
      while (done < bytes.length) {
        const { bytesRead } = await fh.read(bytes, done, bytes.length - done, start + done);
        if (bytesRead === 0) {
          throw malformedFile(path, 'Parquet', new Error(`file ends before byte ${end}`));
        }
        done += bytesRead;
      }
      out.push({ start, bytes });
    }
    return out;
  } finally {
    if (handle === undefined) await fh.close();
  }
}

/**
 * The slice that holds `[start, end)`.
 *
 * @param slices - slices sorted by start
 * @param start - first byte wanted
 * @param end - one past the last
 * @returns the slice
 * @throws {ModelError} E_INTERNAL when no slice holds the range (the caller read too little)
 */
export function sliceHolding(slices: readonly FileSlice[], start: number, end: number): FileSlice {
  let lo = 0;
  let hi = slices.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = slices[mid]!;
    if (s.start > start) hi = mid - 1;
    else if (s.start + s.bytes.length < end) lo = mid + 1;
    else return s;
  }
  throw new ModelError(
    'E_INTERNAL',
    `No bytes were read for the column chunk at [${start}, ${end}) of a Parquet file.`
  );
}

function rowGroupOutOfRange(g: number, count: number): ModelError {
  return new ModelError(
    'E_OPTION_INVALID',
    `rowGroups must hold row group indexes of the file (0 to ${count - 1}), got ${g}`,
    { details: { rowGroup: g, count } }
  );
}
