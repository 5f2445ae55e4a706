/**
 * Streaming NDJSON (JSON Lines): one JSON object per line, read incrementally into typed column
 * batches and written one object per row.
 *
 * Columns are the keys of the first batch's objects (in order of first appearance); a key first
 * seen in a later batch is dropped with a warning, because a batch must not change the schema.
 * When writing, int64 values that are not safe JavaScript integers are written as decimal
 * strings (so they re-read exactly into an Int64 column); NaN and infinities become null;
 * binary is base64; timestamps are ISO text.
 *
 * @module
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { DataType, RecordBatch } from 'apache-arrow';
import { ModelError } from '../errors.js';
import type { Schema } from '../signature/types.js';
import { defaultWarn, type WarnFn } from '../warnings.js';
import { throwIfAborted } from './file-errors.js';
import { jsonValue } from './json-values.js';
import { TextBatchAssembler, signatureColumnTypes } from './text-columns.js';

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

/**
 * Reads an NDJSON file as typed RecordBatches of at most `batchSize` rows.
 *
 * @param path - the file
 * @param options - see {@link NdjsonReadOptions}
 * @returns the batches in file order
 * @throws {ModelError} E_FORMAT_MALFORMED for a line that is not a JSON object, or a value that
 *   does not convert to its column type (naming file, line, column and value)
 */
export async function* readNdjsonBatches(
  path: string,
  options: NdjsonReadOptions = {}
): AsyncGenerator<RecordBatch> {
  const batchSize = options.batchSize ?? 65536;
  const warn = options.warn ?? defaultWarn;
  const input = createReadStream(path, { encoding: 'utf8' });
  const lines = createInterface({ input, crlfDelay: Infinity });
  let pending: { row: Record<string, unknown>; line: number }[] = [];
  let assembler: TextBatchAssembler | null = null;
  const warned = new Set<string>();
  let lineNo = 0;

  const flush = (): RecordBatch => {
    if (assembler === null) {
      const names: string[] = [];
      const seen = new Set<string>();
      for (const { row } of pending) {
        for (const k of Object.keys(row)) {
          if (!seen.has(k)) {
            seen.add(k);
            names.push(k);
          }
        }
      }
      assembler = new TextBatchAssembler(
        names,
        signatureColumnTypes(options.schema, names),
        'json',
        path
      );
    }
    const a: TextBatchAssembler = assembler;
    const known = new Set(a.names);
    for (const { row, line } of pending) {
      for (const k of Object.keys(row)) {
        if (!known.has(k) && !warned.has(k)) {
          warned.add(k);
          warn(
            `${path}: line ${line}: key '${k}' did not appear in the first batch of ` +
              `${batchSize} rows; it is ignored so that every batch has the same columns.`
          );
        }
      }
      a.push(
        a.names.map((n) => row[n]),
        line
      );
    }
    pending = [];
    return a.flush();
  };

  try {
    for await (const text of lines) {
      lineNo++;
      if (text.trim() === '') continue;
      let row: unknown;
      try {
        row = JSON.parse(text);
      } catch (e) {
        throw new ModelError(
          'E_FORMAT_MALFORMED',
          `${path}: line ${lineNo}: not valid JSON (${(e as Error).message}).`,
          { details: { file: path, line: lineNo }, cause: e }
        );
      }
      if (row === null || typeof row !== 'object' || Array.isArray(row)) {
        throw new ModelError(
          'E_FORMAT_MALFORMED',
          `${path}: line ${lineNo}: expected a JSON object per line, found ${Array.isArray(row) ? 'an array' : JSON.stringify(row)}.`,
          { details: { file: path, line: lineNo } }
        );
      }
      pending.push({ row: row as Record<string, unknown>, line: lineNo });
      if (pending.length >= batchSize) {
        throwIfAborted(options.signal);
        yield flush();
      }
    }
    if (pending.length > 0) {
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
    lines.close();
    input.destroy();
  }
}

/**
 * Encodes a batch as NDJSON text, one object per row.
 *
 * @param batch - the batch
 * @returns the lines, each ending with `\n`
 */
export function encodeNdjson(batch: RecordBatch): string {
  const cols = batch.schema.fields.map((f, i) => ({
    name: f.name,
    type: f.type as DataType,
    vec: batch.getChildAt(i),
  }));
  const out: string[] = [];
  for (let r = 0; r < batch.numRows; r++) {
    const row: Record<string, unknown> = {};
    for (const c of cols) row[c.name] = jsonValue(c.vec?.get(r), c.type, 'string');
    out.push(JSON.stringify(row), '\n');
  }
  return out.join('');
}
