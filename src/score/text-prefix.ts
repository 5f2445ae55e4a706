/**
 * What the bytes before a text split imply for it, when the splits before it are not scored by
 * this run (a shard starting mid-file): the quote state at its start (the parity of the `"`
 * bytes before it, as the splits' own parities would have told) and, for error messages, the
 * line terminators before a position. A pass over bytes at memory speed; no parsing.
 *
 * @module
 */
import { csvQuoteParity } from '../io/csv-split.js';
import { openInput } from '../io/positional-read.js';

const kChunk = 4 * 2 ** 20;

/** What {@link scanTextPrefix} counts in `[from, to)`. */
export interface TextPrefix {
  /** Parity of the `"` bytes. */
  parity: 0 | 1;
  /**
   * Line terminators (`\n`, `\r\n` once, a lone `\r`), whatever the quoting (as parsers count
   * lines); 0 unless asked for.
   */
  lines: number;
}

/**
 * Scans `[from, to)` of a file.
 *
 * @param path - the file
 * @param from - first byte
 * @param to - end (exclusive)
 * @param countLines - also count line terminators (slower); default false
 * @returns the quote parity and the line terminators of the range
 * @throws {ModelError} E_FILE_NOT_FOUND
 */
export async function scanTextPrefix(
  path: string,
  from: number,
  to: number,
  countLines = false
): Promise<TextPrefix> {
  const fh = await openInput(path);
  try {
    const buf = new Uint8Array(Math.min(kChunk, Math.max(1, to - from)));
    let parity = 0;
    let lines = 0;
    let pendingCr = false;
    for (let at = from; at < to;) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, to - at), at);
      if (bytesRead === 0) break;
      parity ^= csvQuoteParity(buf, 0, bytesRead);
      for (let i = 0; countLines && i < bytesRead; i++) {
        const b = buf[i]!;
        if (b === 10) {
          lines++;
          pendingCr = false;
        } else {
          if (countLines && pendingCr) lines++; // the CR before was alone
          pendingCr = b === 13;
        }
      }
      at += bytesRead;
    }
    // A CR at the very end ends a line whether or not a LF follows (the LF would not count again).
    if (countLines && pendingCr) lines++;
    return { parity: parity === 1 ? 1 : 0, lines };
  } finally {
    await fh.close();
  }
}
