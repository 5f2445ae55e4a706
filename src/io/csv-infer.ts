/**
 * CSV column type inference on bytes: the rules of `inferTextType` (text-columns.ts), applied
 * once to the head of a file so that every split of it is parsed with the same types.
 *
 * @module
 */
import type { ValueType } from '../signature/types.js';
import {
  CsvRecordScanner,
  F_QUOTED,
  SCAN_CUT,
  SCAN_EMPTY,
  asBuffer,
  checkWindow,
} from './csv-fields.js';
import { T_BOOL, T_DATE, T_FLOAT, T_INT, classifyAscii, isTrimByte } from './csv-values.js';
import { inferTextType, textColumnArrowType } from './text-columns.js';

/** Options of {@link inferCsvTypes}. */
export interface CsvInferOptions {
  /** Whether `bytes` ends where the file ends; default false. */
  eof?: boolean;
  /** The name used in messages; default `CSV input`. */
  file?: string;
}

/**
 * Whether a column of this (signature) type is inferred from the data: no type, or one with no
 * fixed Arrow form (`any`).
 *
 * @param vt - the signature type of the column, or null
 * @returns true when the column's type is inferred
 */
export function csvTypeIsInferred(vt: ValueType | null): boolean {
  return vt === null || textColumnArrowType(vt) === null;
}

const ALL = T_INT | T_FLOAT | T_BOOL | T_DATE;

/**
 * The final type of every column: the known type where the signature gives one, else inferred
 * over the first `maxRows` records exactly as the one-thread reader infers from its first batch
 * (any quoted non-empty cell: `string`; else all integers: `long`; all numbers: `double`; all
 * `true`/`false`: `boolean`; all ISO date-times: `datetime`; no values: `string`).
 *
 * A syntax error or a wrong field count ends the sample early (the records before it decide);
 * parsing then reports that error in file order.
 *
 * @param bytes - the head of the file
 * @param start - the data start (`csvHeader(...).dataStart`)
 * @param names - the header names (their count is the width)
 * @param knownTypes - the signature type of each column, or null to infer it
 *   (`signatureColumnTypes`)
 * @param maxRows - records to sample (the batch size)
 * @param options - see {@link CsvInferOptions}
 * @returns one final type per column, or null when `bytes` ends before `maxRows` records and
 *   before the end of the file (read more and call again)
 */
export function inferCsvTypes(
  bytes: Uint8Array,
  start: number,
  names: readonly string[],
  knownTypes: readonly (ValueType | null)[],
  maxRows: number,
  options: CsvInferOptions = {}
): ValueType[] | null {
  const width = names.length;
  const todo: number[] = [];
  for (let i = 0; i < width; i++) if (csvTypeIsInferred(knownTypes[i] ?? null)) todo.push(i);
  const result = (): ValueType[] =>
    names.map((_, i) => (csvTypeIsInferred(knownTypes[i] ?? null) ? decide(i) : knownTypes[i]!));
  const flags = new Int32Array(width).fill(ALL);
  const seen = new Uint8Array(width);
  const quoted = new Uint8Array(width);
  const decide = (i: number): ValueType => {
    const f = flags[i]!;
    if (quoted[i] === 1 || seen[i] === 0) return { type: 'string' };
    if (f & T_INT) return { type: 'long' };
    if (f & T_FLOAT) return { type: 'double' };
    if (f & T_BOOL) return { type: 'boolean' };
    if (f & T_DATE) return { type: 'datetime' };
    return { type: 'string' };
  };
  if (todo.length === 0) return result();
  const eof = options.eof ?? false;
  const b = asBuffer(bytes);
  const len = b.length;
  checkWindow(len, options.file ?? 'CSV input');
  const scanner = new CsvRecordScanner(options.file ?? 'CSV input');
  let pos = start;
  let open = todo.length; // columns not yet decided as `string`
  for (let rows = 0; rows < maxRows && open > 0;) {
    if (pos >= len) {
      if (!eof) return null;
      break;
    }
    let kind: number;
    try {
      kind = scanner.scan(b, pos, len, eof, 1, 0);
    } catch {
      break; // a syntax error: the sample ends here
    }
    if (kind === SCAN_CUT) return null;
    pos = scanner.next;
    if (kind === SCAN_EMPTY) continue;
    if (scanner.count !== width) break;
    rows++;
    for (const i of todo) {
      if (quoted[i] === 1 || (seen[i] === 1 && flags[i] === 0)) continue;
      let a = scanner.starts[i]!;
      let e = scanner.ends[i]!;
      if (a === e) continue;
      if ((scanner.flags[i]! & F_QUOTED) !== 0) {
        quoted[i] = 1;
        open--;
        continue;
      }
      while (a < e && isTrimByte(b[a]!)) a++;
      while (e > a && isTrimByte(b[e - 1]!)) e--;
      if (a === e) continue;
      let mask = -1;
      for (let k = a; k < e; k++) {
        if (b[k]! >= 0x80) {
          mask = textMask(b.toString('utf8', a, e));
          break;
        }
      }
      if (mask === -1) mask = classifyAscii(b, a, e);
      if (mask === -2) continue; // only Unicode white space: an empty cell
      seen[i] = 1;
      flags[i]! &= mask;
      if (flags[i] === 0) open--;
    }
  }
  return result();
}

/** The flags of one non-ASCII cell, from `inferTextType` itself (-2: blank after trim). */
function textMask(cell: string): number {
  const t = cell.trim();
  if (t === '') return -2;
  switch (inferTextType([t], false).type) {
    case 'long':
      return T_INT | T_FLOAT;
    case 'double':
      return T_FLOAT;
    case 'boolean':
      return T_BOOL;
    case 'datetime':
      return T_DATE;
    default:
      return 0;
  }
}
