/**
 * Splitting a CSV file into byte ranges that threads parse independently, with exactly the
 * records a one-thread read finds.
 *
 * The contract: a split `[a, b)` owns the records that START in it, where a record start is the
 * first byte of the data section (after the header, see {@link csvHeader}) or the byte after a
 * record terminator (`\n`, `\r\n` or `\r`) that is outside quotes. It reads past `b` to finish
 * its last record (`parseCsvRecords(bytes, { start, stop: b })`), and its `next` must equal the
 * next split's start: concatenated, the splits' rows are the file's rows, in order.
 *
 * Where does the first record of `[a, b)` start? A terminator is outside quotes when the number
 * of `"` bytes before it is even (an escaped `""` adds two, and the strict grammar allows no
 * other quote), so the state at `a` is the XOR of the quote parities of every byte range
 * before it ({@link csvQuoteParity}: each split reports its own, a driver folds them in order).
 * Knowing that state, {@link csvRecordStart} finds the record start exactly. Without it, a
 * split GUESSES ({@link csvGuessRecordStart}): the first terminator at or after `a` ends a
 * record. That is right unless a quoted field with line breaks straddles `a`; the guess
 * reports the parity of the bytes it skipped, and it was right exactly when that parity equals
 * the true state at `a` (which the driver learns later); a wrong guess is re-run with the
 * exact state. The header, its BOM and empty lines belong to the file, not to a split.
 *
 * {@link readCsvSplit} is the whole worker side (positional reads, record start, parse, parity);
 * the driver side is a fold over the results in split order, described there.
 *
 * @module
 */
import { ModelError } from '../errors.js';
import { checkUtf8 } from './csv-errors.js';
import { type CsvColumnSpec, type CsvColumns, CsvRecordParser } from './csv-records.js';
import {
  CR,
  CsvRecordScanner,
  F_ESCAPED,
  F_QUOTED,
  LF,
  QUOTE,
  SCAN_CUT,
  SCAN_EMPTY,
  asBuffer,
  checkWindow,
} from './csv-fields.js';

/** The header record of a CSV file. */
export interface CsvHeader {
  /**
   * The column names (an empty unquoted name is `Unnamed: i`, as pandas names it); empty when
   * the file holds no header at all (no bytes, or only a BOM and empty lines).
   */
  names: string[];
  /** Offset of the first data record start (after the header's terminator). */
  dataStart: number;
  /** The line number of the header record (1 unless empty lines precede it). */
  line: number;
  /** The line number at `dataStart` (for `parseCsvRecords`' `line`). */
  dataLine: number;
}

/**
 * Reads the header record: skips a UTF-8 BOM and empty lines, then parses one record (quoted
 * names, `""` escapes, any terminator) into names.
 *
 * @param bytes - the first bytes of the file
 * @param eof - whether `bytes` is the whole file
 * @param file - the name used in error messages; default `CSV input`
 * @returns the header, or null when `bytes` ends before the header does (read more and call
 *   again)
 * @throws {ModelError} E_FORMAT_MALFORMED for a syntax error or invalid UTF-8 in the header
 */
export function csvHeader(bytes: Uint8Array, eof: boolean, file = 'CSV input'): CsvHeader | null {
  const b = asBuffer(bytes);
  const len = b.length;
  checkWindow(len, file);
  let pos = 0;
  if (len < 3 && !eof && b[0] === 0xef && (len < 2 || b[1] === 0xbb)) return null;
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) pos = 3;
  const scanner = new CsvRecordScanner(file);
  let line = 1;
  for (;;) {
    if (pos >= len) {
      return eof ? { names: [], dataStart: len, line, dataLine: line } : null;
    }
    const kind = scanner.scan(b, pos, len, eof, line, 0);
    if (kind === SCAN_CUT) return null;
    if (kind !== SCAN_EMPTY) break;
    pos = scanner.next;
    line = scanner.line;
  }
  const bad = checkUtf8(b, pos, scanner.next, file, line, 0);
  if (bad !== null) throw bad;
  const names: string[] = [];
  for (let i = 0; i < scanner.count; i++) {
    const a = scanner.starts[i]!;
    const e = scanner.ends[i]!;
    const f = scanner.flags[i]!;
    if (a === e && (f & F_QUOTED) === 0) names.push(`Unnamed: ${i}`);
    else {
      const s = b.toString('utf8', a, e);
      names.push((f & F_ESCAPED) !== 0 ? s.replaceAll('""', '"') : s);
    }
  }
  return { names, dataStart: scanner.next, line, dataLine: scanner.line };
}

/**
 * The parity of the `"` bytes in `bytes[from, to)` (1 when odd): what a split reports so the
 * quote state at every split start can be folded in order (XOR) by a driver.
 *
 * @param bytes - the bytes
 * @param from - start
 * @param to - end
 * @returns 0 or 1
 */
export function csvQuoteParity(bytes: Uint8Array, from: number, to: number): 0 | 1 {
  const b = asBuffer(bytes).subarray(from, to);
  let p = 0;
  for (let i = b.indexOf(QUOTE); i !== -1; i = b.indexOf(QUOTE, i + 1)) p ^= 1;
  return p as 0 | 1;
}

function needPrevious(from: number): ModelError {
  return new ModelError(
    'E_INTERNAL',
    `csvRecordStart needs the byte before 'from' (from = ${from}): pass bytes that start at least one byte earlier.`,
    { details: { from } }
  );
}

/**
 * Whether a terminator ends right before `from`: then `from` is a record start (if outside
 * quotes). Returns `from`, the start after a `\r\n` split between its bytes, -1 (need the next
 * byte), or -2 (no terminator ends at `from`).
 */
function startAtBoundary(b: Uint8Array, from: number, eof: boolean): number {
  const prev = b[from - 1];
  if (prev === LF) return from;
  if (prev !== CR) return -2;
  if (from >= b.length) return eof ? from : -1;
  return b[from] === LF ? from + 1 : from;
}

/** The record start after the terminator at `t` (`\r\n` as one), or -1 if `t + 1` is unknown. */
function afterTerminator(b: Uint8Array, t: number, eof: boolean): number {
  if (b[t] === LF) return t + 1;
  if (t + 1 >= b.length) return eof ? t + 1 : -1;
  return b[t + 1] === LF ? t + 2 : t + 1;
}

/**
 * The first record start at or after `from`, given the quote state at `from` (exact).
 *
 * @param bytes - bytes that include `bytes[from - 1]` (the byte before the split)
 * @param from - the split start (>= 1)
 * @param inQuotes - whether `from` is inside a quoted field (odd parity of the quotes before it,
 *   counted from the data start)
 * @param eof - whether `bytes` ends where the file ends
 * @returns the offset of the record start (`bytes.length` at eof when no record starts after
 *   `from`), or -1 when it lies beyond `bytes` and `eof` is false (supply more bytes)
 * @throws {ModelError} E_INTERNAL when `from` < 1
 */
export function csvRecordStart(
  bytes: Uint8Array,
  from: number,
  inQuotes: boolean,
  eof: boolean
): number {
  if (from < 1) throw needPrevious(from);
  const b = bytes;
  const len = b.length;
  if (!inQuotes) {
    const at = startAtBoundary(b, from, eof);
    if (at !== -2) return at;
  }
  let q = inQuotes;
  for (let i = from; i < len; i++) {
    const c = b[i];
    if (c === QUOTE) q = !q;
    else if (!q && (c === LF || c === CR)) return afterTerminator(b, i, eof);
  }
  return eof ? len : -1;
}

/** A guessed record start: see {@link csvGuessRecordStart}. */
export interface CsvGuessedStart {
  /** The guessed record start (`bytes.length` at eof when there is no terminator). */
  start: number;
  /**
   * The parity of the quotes in `[from, start)`: the guess is right exactly when it equals the
   * true quote state at `from` (1 = inside quotes).
   */
  parity: 0 | 1;
}

/**
 * Guesses the first record start at or after `from` without knowing the quote state there: the
 * first terminator at or after `from` (or one ending right before it) is taken as a record end.
 *
 * @param bytes - bytes that include `bytes[from - 1]`
 * @param from - the split start (>= 1)
 * @param eof - whether `bytes` ends where the file ends
 * @returns the guess and the parity to verify it with, or null when `bytes` ends first and
 *   `eof` is false
 * @throws {ModelError} E_INTERNAL when `from` < 1
 */
export function csvGuessRecordStart(
  bytes: Uint8Array,
  from: number,
  eof: boolean
): CsvGuessedStart | null {
  if (from < 1) throw needPrevious(from);
  const b = bytes;
  const len = b.length;
  const at = startAtBoundary(b, from, eof);
  if (at === -1) return null;
  if (at !== -2) return { start: at, parity: 0 };
  let p = 0;
  for (let i = from; i < len; i++) {
    const c = b[i];
    if (c === QUOTE) p ^= 1;
    else if (c === LF || c === CR) {
      const start = afterTerminator(b, i, eof);
      return start === -1 ? null : { start, parity: p as 0 | 1 };
    }
  }
  return eof ? { start: len, parity: p as 0 | 1 } : null;
}

/** One split task: see {@link readCsvSplit}. */
export interface CsvSplitTask {
  /** Reads up to `length` bytes at `position` of the file (positional; fewer only at its end). */
  read: (position: number, length: number) => Promise<Uint8Array>;
  /** The file's size in bytes. */
  fileSize: number;
  /** The file's data start (`csvHeader(...).dataStart`). */
  dataStart: number;
  /** The split's start offset (`dataStart` for the first split). */
  start: number;
  /** The split's end offset (the next split's start, or `fileSize`). */
  end: number;
  /**
   * The quote state at `start` when known (true: inside a quoted field), or null to guess (see
   * {@link csvGuessRecordStart}). Ignored for the first split.
   */
  inQuotes: boolean | null;
  /** The columns (final types, or 'skip'). */
  columns: readonly CsvColumnSpec[];
  /** The name used in messages. */
  file: string;
  /** Also collect each record's byte range; default false. */
  recordBounds?: boolean;
  /** Bytes read past `end` at first (the last record's tail); default 64 KiB. */
  readAhead?: number;
}

/** What a split task found: its rows, and what the driver needs to check and chain it. */
export interface CsvSplitResult extends CsvColumns {
  /** Absolute offset of the split's first record start (>= `start`). */
  recordStart: number;
  /** Absolute offset where the next split's records begin: must equal its `recordStart`. */
  next: number;
  /** Line terminators from `recordStart` to `next` (the driver's line prefix sums). */
  lines: number;
  /** Quote parity of the raw range `[start, end)` (the driver XORs these in order). */
  parity: 0 | 1;
  /**
   * For a guessed start: the parity to verify the guess with (right exactly when it equals the
   * true state at `start`); null when the start was exact.
   */
  guessParity: 0 | 1 | null;
  /** The split's bytes `[recordStart, next)` (for copying records verbatim). */
  bytes: Uint8Array;
  /**
   * The parse error, if any, with lines counted from 1 at `recordStart` (re-base it with
   * `rebaseCsvError` once the guess is verified and the line prefix is known). Rows are then
   * empty.
   */
  error: unknown;
}

/**
 * Reads and parses one split of a CSV file, as a worker does: positional reads of `[start - 1,
 * end + readAhead)` (the byte before `start` says whether a record starts right at it), more
 * when the first record start or the last record's end lies further (geometrically more, so a
 * huge record costs linear time), the first record start (exact, or guessed), the records that
 * start in `[start, end)` into typed columns, and the split's quote parity.
 *
 * The driver, going through the splits in order with the true quote state `q` (0 after the
 * header; then `q ^= parity` per split): if `guessParity !== null && guessParity !== q`, the
 * guess was wrong: run the split again with `inQuotes: q === 1` (its `error` was meaningless).
 * Then check `recordStart === previous.next`, re-base `error` (if any), and add `lines`.
 *
 * @param task - see {@link CsvSplitTask}
 * @returns see {@link CsvSplitResult}; parse errors are returned, not thrown
 * @throws whatever `task.read` throws (I/O errors)
 */
export async function readCsvSplit(task: CsvSplitTask): Promise<CsvSplitResult> {
  const { fileSize, start, end, dataStart } = task;
  const first = start <= dataStart;
  const lo = first ? start : start - 1;
  let win = await readRange(task, lo, Math.min(fileSize, end + (task.readAhead ?? 1 << 16)));
  const hiOf = () => lo + win.length;
  // A read that brings nothing new ends the file too (it shrank under us): never loop on it.
  let ended = false;
  const more = async (bytes: number) => {
    const before = win.length;
    win = await extend(task, win, lo, bytes);
    if (win.length === before) ended = true;
  };
  const atEnd = () => ended || hiOf() >= fileSize;
  let recordStart = start;
  let guessParity: 0 | 1 | null = null;
  while (!first) {
    const eof = atEnd();
    if (task.inQuotes === null) {
      const g = csvGuessRecordStart(win, start - lo, eof);
      if (g !== null) {
        recordStart = lo + g.start;
        guessParity = g.parity;
        break;
      }
    } else {
      const s = csvRecordStart(win, start - lo, task.inQuotes, eof);
      if (s !== -1) {
        recordStart = lo + s;
        break;
      }
    }
    await more(win.length);
  }
  const parity = csvQuoteParity(win, start - lo, Math.min(end, hiOf()) - lo);
  const parser = new CsvRecordParser(task.columns, {
    file: task.file,
    ...(task.recordBounds === undefined ? {} : { recordBounds: task.recordBounds }),
    capacity: Math.ceil(Math.max(0, end - recordStart) / 32),
  });
  let pos = recordStart;
  let lines = 0;
  let error: unknown = null;
  try {
    for (;;) {
      const r = parser.parse(win, {
        start: pos - lo,
        stop: end - lo,
        eof: atEnd(),
        byteOffset: lo,
        line: 1 + lines,
      });
      pos = lo + r.next;
      lines += r.lines;
      if (r.complete) break;
      await more(hiOf() - pos);
    }
  } catch (e) {
    error = e;
  }
  const out = error === null ? parser.finish() : { columns: [], types: [], rows: 0 };
  return {
    ...out,
    recordStart,
    next: error === null ? pos : recordStart,
    lines: error === null ? lines : 0,
    parity,
    guessParity,
    bytes: win.subarray(recordStart - lo, pos - lo),
    error,
  };
}

async function readRange(task: CsvSplitTask, from: number, to: number): Promise<Uint8Array> {
  const out = new Uint8Array(Math.max(0, to - from));
  let at = 0;
  while (at < out.length) {
    const got = await task.read(from + at, out.length - at);
    if (got.length === 0) break; // the file ended early (it shrank): parse what is there
    out.set(got.subarray(0, out.length - at), at);
    at += got.length;
  }
  return at === out.length ? out : out.subarray(0, at);
}

/** The window with at least `more` more bytes (and at least 64 KiB), up to the file's end. */
async function extend(
  task: CsvSplitTask,
  win: Uint8Array,
  lo: number,
  more: number
): Promise<Uint8Array> {
  const hi = lo + win.length;
  const to = Math.min(task.fileSize, hi + Math.max(more, 1 << 16));
  const tail = await readRange(task, hi, to);
  const next = new Uint8Array(win.length + tail.length);
  next.set(win);
  next.set(tail, win.length);
  return next;
}
