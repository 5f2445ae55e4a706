/**
 * The errors of the CSV byte reader, built so that a caller who parsed a split of a file with
 * RELATIVE line numbers (a worker does not know how many lines precede its split) can re-base
 * them once it knows ({@link rebaseCsvError}).
 *
 * Every error is E_FORMAT_MALFORMED with the message `${file}: line N<reason>`, and `details`
 * holding `file`, `line`, `reason` (the message text after `line N`, verbatim) and `byteOffset`
 * (absolute: the record start for a field-count or value error, the offending byte for a syntax
 * or UTF-8 error), plus the facts of the kind (`expected`/`found`, `column`/`value`/`type`).
 *
 * @module
 */
import { isUtf8 } from 'node:buffer';
import { ModelError } from '../errors.js';

/** What kind of CSV error (kept in `details.kind`; syntax reasons mention their line again). */
type CsvErrorKind = 'syntax' | 'fields' | 'value' | 'utf8';

function csvError(
  kind: CsvErrorKind,
  file: string,
  line: number,
  reason: string,
  byteOffset: number,
  extra: Record<string, unknown> = {},
  cause?: unknown
): ModelError {
  return new ModelError('E_FORMAT_MALFORMED', `${file}: line ${line}${reason}`, {
    details: { file, line, ...extra, kind, reason, byteOffset },
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * An opening quote whose field never ends (the file ended inside it).
 *
 * @param file - the name used in messages
 * @param line - the line where the field opens
 * @param byteOffset - absolute offset of the opening quote
 * @returns the error
 */
export function unclosedQuote(file: string, line: number, byteOffset: number): ModelError {
  return csvError(
    'syntax',
    file,
    line,
    `: Quote not closed: the field that opens on line ${line} never ends`,
    byteOffset
  );
}

/**
 * Text after the closing quote of a field (`"ab"c`).
 *
 * @param file - the name used in messages
 * @param line - the line of the closing quote
 * @param byteOffset - absolute offset of the byte after the closing quote
 * @returns the error
 */
export function textAfterQuote(file: string, line: number, byteOffset: number): ModelError {
  return csvError(
    'syntax',
    file,
    line,
    `: Invalid closing quote on line ${line}: text follows the closing quote`,
    byteOffset
  );
}

/**
 * A `"` inside an unquoted field (`ab"c`). RFC 4180 forbids it, and jsfunc rejects it: a stray
 * quote would flip the quote parity that split reading relies on, so a lenient reading could
 * not be the same for a one-thread read and a split read.
 *
 * @param file - the name used in messages
 * @param line - the line of the quote
 * @param byteOffset - absolute offset of the quote
 * @returns the error
 */
export function strayQuote(file: string, line: number, byteOffset: number): ModelError {
  return csvError(
    'syntax',
    file,
    line,
    `: Unexpected quote in an unquoted field on line ${line}: quote the whole field and double ` +
      'the quotes inside it (RFC 4180)',
    byteOffset
  );
}

/**
 * A record whose field count differs from the header's.
 *
 * @param file - the name used in messages
 * @param line - the line where the record starts
 * @param expected - the header's field count
 * @param found - the record's field count
 * @param byteOffset - absolute offset of the record start
 * @returns the error
 */
export function fieldCount(
  file: string,
  line: number,
  expected: number,
  found: number,
  byteOffset: number
): ModelError {
  return csvError(
    'fields',
    file,
    line,
    `: expected ${expected} fields (as in the header), found ${found}.`,
    byteOffset,
    { expected, found }
  );
}

/**
 * A value that does not convert to its column's type (same text as the one-thread reader had).
 *
 * @param file - the name used in messages
 * @param line - the line where the record starts
 * @param column - the column name
 * @param value - the cell text (unescaped, untrimmed)
 * @param type - the column type's MLflow name
 * @param inferred - whether the type was inferred (adds the hint to declare it)
 * @param cause - the conversion error
 * @param byteOffset - absolute offset of the record start
 * @returns the error
 */
export function badValue(
  file: string,
  line: number,
  column: string,
  value: string,
  type: string,
  inferred: boolean,
  cause: unknown,
  byteOffset: number
): ModelError {
  const why = cause instanceof Error ? cause.message : String(cause);
  const hint = inferred
    ? ' The type was inferred from the first batch; declare the column in the model signature to fix it.'
    : '';
  return csvError(
    'value',
    file,
    line,
    `, column '${column}': cannot read ${JSON.stringify(value)} as ${type} (${why}).${hint}`,
    byteOffset,
    { column, value, type },
    cause
  );
}

/**
 * Checks that `bytes[from, to)` is UTF-8 (at memory speed) and, if not, builds the error naming
 * the first invalid byte and its line.
 *
 * @param bytes - the bytes
 * @param from - first byte (a record start)
 * @param to - end (a record start; the range holds whole records, so whole characters)
 * @param file - the name used in messages
 * @param line - the line number at `from`
 * @param byteOffset - absolute offset of `bytes[0]`
 * @returns null when valid, else the error to throw
 */
export function checkUtf8(
  bytes: Uint8Array,
  from: number,
  to: number,
  file: string,
  line: number,
  byteOffset: number
): ModelError | null {
  if (to <= from || isUtf8(bytes.subarray(from, to))) return null;
  const bad = firstInvalidUtf8(bytes, from, to);
  const at = line + countLineEnds(bytes, from, bad);
  return csvError(
    'utf8',
    file,
    at,
    `: invalid UTF-8 at byte offset ${byteOffset + bad} (CSV input must be UTF-8 encoded)`,
    byteOffset + bad
  );
}

/** Line terminators (`\n`, `\r\n`, lone `\r`) in `bytes[from, to)`, quoted or not. */
function countLineEnds(bytes: Uint8Array, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = bytes[i];
    if (c === 10 || (c === 13 && bytes[i + 1] !== 10)) n++;
  }
  return n;
}

/**
 * The offset of the first byte of the first invalid UTF-8 sequence in `bytes[from, to)` (the
 * rules of the WHATWG decoder: no overlongs, no surrogates, nothing above U+10FFFF).
 *
 * @param bytes - the bytes
 * @param from - start
 * @param to - end
 * @returns the offset, or `to` when the range is valid
 */
export function firstInvalidUtf8(bytes: Uint8Array, from: number, to: number): number {
  let i = from;
  while (i < to) {
    const c = bytes[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0) lo = 0xa0;
      else if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0) lo = 0x90;
      else if (c === 0xf4) hi = 0x8f;
    } else return i;
    if (i + need >= to) return i; // truncated sequence
    const c1 = bytes[i + 1]!;
    if (c1 < lo || c1 > hi) return i;
    for (let k = 2; k <= need; k++) {
      const ck = bytes[i + k]!;
      if (ck < 0x80 || ck > 0xbf) return i;
    }
    i += need + 1;
  }
  return to;
}

/**
 * Re-bases the line numbers of a CSV error raised by a parse that counted lines from 1 at its
 * start (a split read): the message and `details.line` then name the line in the whole file.
 * Other errors are returned unchanged.
 *
 * @param error - the error thrown by `parseCsvRecords` / `CsvRecordParser`
 * @param lineDelta - absolute line of the split's first record minus the line the parse was
 *   given for it
 * @returns the re-based error (a new ModelError with the same cause), or `error` itself
 */
export function rebaseCsvError(error: unknown, lineDelta: number): unknown {
  if (!ModelError.is(error) || lineDelta === 0) return error;
  const d = error.details;
  const { file, line, reason, kind } = d as {
    file?: unknown;
    line?: unknown;
    reason?: unknown;
    kind?: unknown;
  };
  if (typeof file !== 'string' || typeof line !== 'number' || typeof reason !== 'string') {
    return error;
  }
  const to = line + lineDelta;
  // Syntax reasons repeat the line ("the field that opens on line N"); others hold cell text,
  // which must not be touched.
  const rebased = kind === 'syntax' ? reason.replaceAll(`line ${line}`, `line ${to}`) : reason;
  return new ModelError(error.code, `${file}: line ${to}${rebased}`, {
    details: { ...d, line: to, reason: rebased },
    ...(error.cause === undefined ? {} : { cause: error.cause }),
  });
}
