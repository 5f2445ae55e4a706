/**
 * Progress of a scoring run on stderr: on a terminal, one line redrawn in place (bar, rows,
 * rows/s, ETA when the total is known or estimated); elsewhere nothing until the end, so logs
 * of batch jobs get exactly one summary line.
 *
 * @module
 */
import type { TextSink } from './command.js';

/** The number of rows a run will score: exact (Parquet metadata) or estimated (from bytes). */
export interface RowTotal {
  rows: number;
  exact: boolean;
}

/** Options of {@link Progress}. */
export interface ProgressOptions {
  /** Redraw a bar in place (stderr is a terminal). Default false: draw nothing. */
  tty?: boolean;
  /** Terminal width. Default 80. */
  columns?: number;
  /** Expected total, if known. Default unknown. */
  total?: RowTotal | null;
  /** Clock in milliseconds. Default `performance.now`. */
  now?: () => number;
  /** Least milliseconds between redraws. Default 100. */
  intervalMs?: number;
}

/**
 * Groups thousands with commas (`1,234,567`), independent of the locale.
 *
 * @param n - a non-negative number (rounded)
 * @returns the text
 */
export function formatCount(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/**
 * Formats seconds as `42s`, `3m05s` or `1h02m`.
 *
 * @param seconds - a duration
 * @returns the text (`?` for a non-finite duration)
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * The text of one progress line.
 *
 * @param rows - rows done
 * @param elapsedMs - time since the start
 * @param total - expected total, or null when unknown
 * @param width - the line's maximum width; default 80
 * @returns e.g. `[########------]  45% 450,000/~1,000,000 rows  310,000 rows/s  ETA 2s`
 */
export function formatProgressLine(
  rows: number,
  elapsedMs: number,
  total: RowTotal | null,
  width = 80
): string {
  const rate = elapsedMs > 0 ? (rows * 1000) / elapsedMs : 0;
  const rateText = `${formatCount(rate)} rows/s`;
  if (total === null || total.rows <= 0) {
    return `${formatCount(rows)} rows  ${rateText}  ${formatDuration(elapsedMs / 1000)}`.slice(
      0,
      width
    );
  }
  // An estimate can be passed (text files): the bar then stays just short of full.
  const shownTotal = Math.max(total.rows, rows);
  const fraction = Math.min(1, rows / shownTotal);
  const eta = rate > 0 ? (shownTotal - rows) / rate : Number.POSITIVE_INFINITY;
  const tail =
    ` ${String(Math.floor(fraction * 100)).padStart(3)}% ${formatCount(rows)}/${total.exact ? '' : '~'}` +
    `${formatCount(shownTotal)} rows  ${rateText}  ETA ${formatDuration(eta)}`;
  // A fixed bar width per terminal width: sized from the tail it would be redrawn with each
  // time, the bar would jump as the counts and the rate change length.
  const barWidth = width >= 70 ? Math.min(30, width - 60) : 0;
  const filled = Math.round(fraction * barWidth);
  const bar = barWidth > 0 ? `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]` : '';
  return `${bar}${tail}`.slice(0, width);
}

/** A progress line redrawn on a terminal (see the module notes). */
export class Progress {
  readonly #sink: TextSink;
  readonly #tty: boolean;
  readonly #columns: number;
  readonly #now: () => number;
  readonly #intervalMs: number;
  readonly #start: number;
  #total: RowTotal | null;
  #rows = 0;
  #lastDraw = Number.NEGATIVE_INFINITY;
  #drawn = false;

  /**
   * @param sink - where to draw (stderr)
   * @param options - see {@link ProgressOptions}
   */
  constructor(sink: TextSink, options: ProgressOptions = {}) {
    this.#sink = sink;
    this.#tty = options.tty ?? false;
    this.#columns = Math.max(20, (options.columns ?? 80) - 1);
    this.#now = options.now ?? (() => performance.now());
    this.#intervalMs = options.intervalMs ?? 100;
    this.#total = options.total ?? null;
    this.#start = this.#now();
  }

  /** Milliseconds since the progress started. */
  get elapsedMs(): number {
    return this.#now() - this.#start;
  }

  /** Rows reported so far. */
  get rows(): number {
    return this.#rows;
  }

  /** Replaces the expected total (for estimates refined as data is read). */
  setTotal(total: RowTotal | null): void {
    this.#total = total;
  }

  /**
   * Records the cumulative rows done; redraws at most once per interval on a terminal.
   *
   * @param rows - rows done so far
   */
  update(rows: number): void {
    this.#rows = rows;
    if (!this.#tty) return;
    const t = this.#now();
    if (t - this.#lastDraw < this.#intervalMs) return;
    this.#lastDraw = t;
    this.#drawn = true;
    // \r returns to column 0 and ESC[K clears what a longer previous line left behind.
    this.#sink.write(
      `\r${formatProgressLine(rows, t - this.#start, this.#total, this.#columns)}\x1b[K`
    );
  }

  /** Erases the bar (terminal only), so the summary line that follows starts clean. */
  finish(): void {
    if (this.#tty && this.#drawn) this.#sink.write('\r\x1b[K');
    this.#drawn = false;
  }
}
