/**
 * NDJSON column inference from bytes: the column names (in order of first appearance) and the
 * type of every column the signature does not type, over the first `maxRows` records, by exactly
 * the rules of `inferJsonType` (`io/text-columns.ts`). A file's driver runs it once on the head
 * of the file; every split then parses with those columns and types, so the schema is the one a
 * one-thread read would give.
 *
 * Scalars are classified from their bytes (an integral number is one whose value
 * `Number.isInteger`); nested values (arrays, objects) are parsed with `JSON.parse` after the
 * scanner has checked them, so nesting deeper than {@link MAX_DEPTH} is a coded error, never a
 * stack overflow. A key repeated in one object counts with its last value (JSON.parse's rule).
 *
 * @module
 */
import type { Schema, ValueType } from '../signature/types.js';
import { KeyTable } from './ndjson-keys.js';
import { NdjsonLineReader, type NdjsonProgress, type NdjsonRange } from './ndjson-lines.js';
import { num, scanNumber } from './ndjson-number.js';
import { FALSE, NULL, TRUE, scanString, scanValue, scanWord, skipWs, str } from './ndjson-scan.js';
import { ScanError } from './ndjson-scan-error.js';
import { inferJsonType, signatureColumnTypes, textColumnArrowType } from './text-columns.js';

/** A column of an NDJSON file with its type. */
export interface NdjsonColumn {
  /** The key. */
  name: string;
  /** The signature's type, or the inferred one. */
  type: ValueType;
  /** True when the signature typed the column (errors then carry no inference hint). */
  declared: boolean;
}

/** Options of {@link inferNdjsonColumns}. */
export interface NdjsonInferOptions extends NdjsonRange {
  /** Records to infer from (the reader's batch size). */
  maxRows: number;
  /** The model input signature; its columns are typed by it, not inferred. */
  schema?: Schema | null;
  /** The file name used in messages. */
  file: string;
}

/** The result of {@link inferNdjsonColumns}. */
export interface NdjsonInference extends NdjsonProgress {
  /** The columns in order of first appearance (none when there was no record). */
  columns: NdjsonColumn[];
}

const K_NUMBER = 1;
const K_STRING = 2;
const K_BOOL = 4;
const K_ARRAY = 8;
const K_OBJECT = 16;

/**
 * Finds the columns and their types over the first `maxRows` records of an NDJSON range (the
 * head of a file).
 *
 * `complete` is true when `maxRows` records were read or the range reached the end of the file
 * (`eof` and every byte consumed); otherwise the head was too short: read more and call again.
 *
 * @param bytes - the bytes (the file's head)
 * @param options - see {@link NdjsonInferOptions}
 * @returns the columns and what was consumed
 * @throws {ModelError} E_FORMAT_MALFORMED for a line that is not a JSON object, is not valid
 *   JSON, is nested too deep or is not UTF-8 (naming file, line and byte offset)
 */
export function inferNdjsonColumns(
  bytes: Uint8Array,
  options: NdjsonInferOptions
): NdjsonInference {
  const reader = new InferReader(options.file);
  return reader.infer(bytes, options);
}

class InferReader extends NdjsonLineReader {
  private readonly keys = new KeyTable();
  private readonly kinds: number[] = [];
  private readonly integral: boolean[] = [];
  private readonly nested: unknown[][] = [];
  private readonly seenRow: number[] = [];
  private readonly pendKind: number[] = [];
  private readonly pendIntegral: boolean[] = [];
  private readonly pendNested: unknown[] = [];
  private readonly touched: number[] = [];
  private row = 0;

  infer(bytes: Uint8Array, options: NdjsonInferOptions): NdjsonInference {
    const progress = this.run(bytes, options);
    const complete = progress.rows >= options.maxRows || (options.eof && progress.complete);
    const names = this.keys.names;
    const signature = signatureColumnTypes(options.schema, names);
    const columns = names.map((name, i): NdjsonColumn => {
      const t = signature[i] ?? null;
      if (t !== null && textColumnArrowType(t) !== null) return { name, type: t, declared: true };
      return { name, type: this.inferred(i), declared: false };
    });
    return { ...progress, complete, columns };
  }

  private inferred(i: number): ValueType {
    const k = this.kinds[i]!;
    if (k === 0 || (k & (k - 1)) !== 0) return { type: 'string' };
    switch (k) {
      case K_NUMBER:
        return { type: this.integral[i] === true ? 'long' : 'double' };
      case K_BOOL:
        return { type: 'boolean' };
      case K_ARRAY:
      case K_OBJECT:
        return inferJsonType(this.nested[i]!);
      default:
        return { type: 'string' };
    }
  }

  private column(k0: number, k1: number, escaped: boolean): number {
    let name: string;
    if (escaped) {
      name = JSON.parse(this.buf.toString('utf8', k0 - 1, k1 + 1)) as string;
      const c = this.keys.findName(name);
      if (c >= 0) return c;
    } else {
      const c = this.keys.findBytes(this.b, k0, k1);
      if (c >= 0) return c;
      name = this.buf.toString('utf8', k0, k1);
    }
    const c = this.keys.add(name);
    this.kinds.push(0);
    this.integral.push(true);
    this.nested.push([]);
    this.seenRow.push(-1);
    this.pendKind.push(0);
    this.pendIntegral.push(true);
    this.pendNested.push(undefined);
    return c;
  }

  protected record(q: number, end: number): number {
    const b = this.b;
    // A record read again (cut by the end of the buffer) reuses its row number.
    const row = this.row;
    const touched = this.touched;
    for (const c of touched) this.seenRow[c] = -1;
    touched.length = 0;
    q = skipWs(b, q + 1, end);
    let expect = 0;
    if (b[q] === 0x7d) q++;
    else {
      for (;;) {
        if (b[q] !== 0x22) throw new ScanError('syntax', q);
        // Keys usually repeat in the same order: try the one after the previous key first.
        let c = expect;
        const after = expect < this.keys.size ? this.keys.quoted(expect, b, q) : -1;
        if (after >= 0) q = after;
        else {
          const k0 = q + 1;
          q = scanString(b, q, end);
          c = this.column(k0, q - 1, str.escaped);
        }
        expect = c + 1;
        q = skipWs(b, q, end);
        if (b[q] !== 0x3a) throw new ScanError('syntax', q);
        q = skipWs(b, q + 1, end);
        const ch = b[q];
        let kind = 0;
        let integral = true;
        let nested: unknown;
        if (ch === 0x22) {
          q = scanString(b, q, end);
          kind = K_STRING;
        } else if (ch === 0x2d || (ch !== undefined && ch >= 0x30 && ch <= 0x39)) {
          q = scanNumber(b, q, end);
          kind = K_NUMBER;
          integral = Number.isInteger(num.value);
        } else if (ch === 0x74) {
          q = scanWord(b, q, end, TRUE);
          kind = K_BOOL;
        } else if (ch === 0x66) {
          q = scanWord(b, q, end, FALSE);
          kind = K_BOOL;
        } else if (ch === 0x6e) {
          q = scanWord(b, q, end, NULL);
        } else if (ch === 0x5b || ch === 0x7b) {
          const q2 = scanValue(b, q, end, 1);
          nested = JSON.parse(this.buf.toString('utf8', q, q2));
          kind = ch === 0x5b ? K_ARRAY : K_OBJECT;
          q = q2;
        } else {
          throw new ScanError('syntax', q);
        }
        if (this.seenRow[c] !== row) {
          this.seenRow[c] = row;
          touched.push(c);
        }
        this.pendKind[c] = kind;
        this.pendIntegral[c] = integral;
        this.pendNested[c] = nested;
        q = skipWs(b, q, end);
        const d = b[q];
        if (d === 0x2c) {
          q = skipWs(b, q + 1, end);
          continue;
        }
        if (d === 0x7d) {
          q++;
          break;
        }
        throw new ScanError('syntax', q);
      }
    }
    return q;
  }

  protected abandon(): void {
    // Nothing is counted before commit().
  }

  protected commit(): void {
    for (const c of this.touched) {
      const kind = this.pendKind[c]!;
      if (kind === 0) continue;
      this.kinds[c]! |= kind;
      if (kind === K_NUMBER && !this.pendIntegral[c]) this.integral[c] = false;
      if (kind === K_ARRAY || kind === K_OBJECT) this.nested[c]!.push(this.pendNested[c]);
      this.pendNested[c] = undefined;
    }
    this.row++;
  }
}
