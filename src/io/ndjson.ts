/**
 * Streaming NDJSON (JSON Lines): one JSON object per line, read incrementally into typed column
 * batches (writing: `ndjson-format.ts`).
 *
 * Reading goes through the byte parser of `ndjson-split.ts` (the same one every split of a
 * split-parallel read uses): the file is read in large chunks, a line cut by a chunk end is
 * carried over (the next read grows with it, so a very long line costs linear time), and rows
 * are gathered into batches of `batchSize`. The text must be UTF-8 (a BOM at the start is
 * skipped); invalid UTF-8 is an error naming the line and byte offset.
 *
 * Columns are the keys of the first batch's objects (in order of first appearance); a key first
 * seen in a later batch is dropped with a warning, because a batch must not change the schema.
 *
 * @module
 */
import { type FileHandle, open } from 'node:fs/promises';
import type { DataType, RecordBatch } from 'apache-arrow';
import { ModelError } from '../errors.js';
import type { Schema } from '../signature/types.js';
import { defaultWarn, type WarnFn } from '../warnings.js';
import { throwIfAborted } from './file-errors.js';
import { NdjsonRecordParser, inferNdjsonColumns } from './ndjson-split.js';
import { assembleBatch } from './text-columns.js';

/** Options of {@link readNdjsonBatches}. */
export interface NdjsonReadOptions {
  /** The model input signature that types the columns; null/undefined infers every column. */
  schema?: Schema | null;
  /** Rows per batch; default 65536. */
  batchSize?: number;
  /** Stops reading between batches. */
  signal?: AbortSignal;
  /** Receives the warning about keys first seen after the first batch. */
  warn?: WarnFn;
}

/** Bytes read at a time (a longer line makes the next read larger). */
const CHUNK = 8 << 20;

/** A file read forward in large chunks, keeping the unconsumed tail of the previous chunk. */
class ChunkedFile {
  /** The bytes held: file offsets `[offset, offset + bytes.length)`. */
  bytes: Buffer = Buffer.alloc(0);
  offset = 0;
  eof = false;
  private position = 0;

  /**
   * @param handle - the open file
   * @param size - its size at open (reads stop one byte past it; a file that grew since is
   *   read on in whole chunks)
   */
  constructor(
    private readonly handle: FileHandle,
    private readonly size: number
  ) {}

  /**
   * Drops the bytes before `keep` and reads at least one more chunk after the rest.
   *
   * @param keep - index into `bytes` of the first byte to keep
   */
  async more(keep: number): Promise<void> {
    const kept = this.bytes.length - keep;
    let want = Math.max(CHUNK, kept);
    // One byte past the known end, so that the end is seen by this read.
    if (this.size > this.position) want = Math.min(want, this.size - this.position + 1);
    const next = Buffer.allocUnsafe(kept + want);
    this.bytes.copy(next, 0, keep);
    let filled = kept;
    while (filled < next.length) {
      const { bytesRead } = await this.handle.read(
        next,
        filled,
        next.length - filled,
        this.position
      );
      if (bytesRead === 0) {
        this.eof = true;
        break;
      }
      filled += bytesRead;
      this.position += bytesRead;
    }
    this.offset += keep;
    this.bytes = next.subarray(0, filled);
  }
}

/**
 * Reads an NDJSON file as typed RecordBatches of at most `batchSize` rows.
 *
 * @param path - the file
 * @param options - see {@link NdjsonReadOptions}
 * @returns the batches in file order
 * @throws {ModelError} E_FORMAT_MALFORMED for a line that is not a JSON object, is not UTF-8 or
 *   is nested too deep, or a value that does not convert to its column type (naming file, line,
 *   column and value); E_FILE_NOT_FOUND when the file cannot be read
 */
export async function* readNdjsonBatches(
  path: string,
  options: NdjsonReadOptions = {}
): AsyncGenerator<RecordBatch> {
  const batchSize = options.batchSize ?? 65536;
  const warn = options.warn ?? defaultWarn;
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
    const file = new ChunkedFile(handle, (await handle.stat()).size);
    await file.more(0);
    // The columns and their types come from the first batch of records, as they always have.
    let head = inferNdjsonColumns(file.bytes, {
      eof: file.eof,
      maxRows: batchSize,
      schema: options.schema,
      file: path,
    });
    while (!head.complete) {
      await file.more(0);
      head = inferNdjsonColumns(file.bytes, {
        eof: file.eof,
        maxRows: batchSize,
        schema: options.schema,
        file: path,
      });
    }
    if (head.rows === 0) return;
    const names = head.columns.map((c) => c.name);
    const parser = new NdjsonRecordParser(head.columns, path);
    const warned = new Set<string>();
    let line = 1;
    let pos = 0;
    const flush = (): RecordBatch => {
      const rows = parser.rows;
      const datas = parser.finish().map((d) => d!);
      return assembleBatch(
        names,
        datas.map((d) => d.type as DataType),
        datas,
        rows
      );
    };
    for (;;) {
      const chunk = parser.parse(file.bytes, {
        start: pos,
        eof: file.eof,
        byteOffset: file.offset,
        firstLine: line,
        maxRows: batchSize - parser.rows,
      });
      line += chunk.lines;
      pos = chunk.next;
      for (const { key, line: at } of chunk.unknownKeys) {
        if (warned.has(key)) continue;
        warned.add(key);
        warn(
          `${path}: line ${at}: key '${key}' did not appear in the first batch of ` +
            `${batchSize} rows; it is ignored so that every batch has the same columns.`
        );
      }
      if (parser.rows >= batchSize) {
        throwIfAborted(options.signal);
        yield flush();
        continue;
      }
      if (file.eof) break;
      await file.more(pos);
      pos = 0;
    }
    if (parser.rows > 0) {
      throwIfAborted(options.signal);
      yield flush();
    }
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (!ModelError.is(e) && typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
      throw new ModelError('E_FILE_NOT_FOUND', `Input file ${path} cannot be read (${code}).`, {
        details: { path },
        cause: e,
      });
    }
    throw e;
  } finally {
    await handle?.close();
  }
}
