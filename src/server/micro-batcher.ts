/**
 * Adaptive micro-batching of concurrent requests onto a fixed number of slots (the pool's
 * workers), as Triton's dynamic batcher does: a batch goes to a free slot as soon as
 *
 * - it holds `maxBatchRows` rows, or
 * - its oldest request has waited `maxWaitUs` microseconds (0, the default: at once).
 *
 * While every slot is busy, requests keep queueing, and the next free slot takes them as one
 * batch (up to `maxBatchRows` rows; when several slots are free, the queue is shared evenly
 * among them so no worker idles): batches grow with the load by themselves, and a lone request
 * on an idle server waits for nobody.
 *
 * Why "at once" still merges: with `maxWaitUs` 0 the dispatch runs in a `setImmediate`, after
 * the event loop has handled every socket that was readable in the same turn, so requests that
 * arrived together leave together. A positive `maxWaitUs` trades latency for bigger batches
 * (models with a high fixed cost per call); Node timers count whole milliseconds, so waits are
 * rounded up to the next millisecond.
 *
 * Rows are estimates here: bodies are parsed on the workers, so the caller passes each
 * request's expected row count (the pool backend learns bytes per row from replies). The
 * worker enforces the exact bound per predict call.
 *
 * @module
 */

/** What the batcher needs to know about a queued request. */
export interface BatchItem {
  /** Estimated rows (at least 1). */
  readonly rows: number;
  /** True once the request was withdrawn (answered 504): skipped, never dispatched. */
  readonly cancelled: boolean;
}

/** Options of {@link MicroBatcher}. */
export interface MicroBatcherOptions {
  /** Batches in flight at once (the worker count). */
  slots: number;
  /** A batch is sent once it holds this many (estimated) rows. */
  maxBatchRows: number;
  /** ...or once its oldest request has waited this long, in microseconds. */
  maxWaitUs: number;
}

interface Queued<T> {
  item: T;
  /** `performance.now()` at push, in ms. */
  at: number;
}

/**
 * Queues items and hands them to `run` in batches, at most `slots` batches at a time.
 *
 * @typeParam T - the queued item
 */
export class MicroBatcher<T extends BatchItem> {
  readonly #options: MicroBatcherOptions;
  readonly #run: (batch: T[]) => Promise<void>;
  #queue: Queued<T>[] = [];
  #head = 0;
  #inFlight = 0;
  #immediate: NodeJS.Immediate | undefined;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;

  /**
   * @param options - slots, batch size bound and wait bound
   * @param run - scores one batch; it settles every item itself and must not reject
   */
  constructor(options: MicroBatcherOptions, run: (batch: T[]) => Promise<void>) {
    this.#options = options;
    this.#run = run;
  }

  /** Items waiting for a slot (withdrawn ones included until they reach the head). */
  get queued(): number {
    return this.#queue.length - this.#head;
  }

  /** Batches running now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Queues an item; it is dispatched by the policy in the module comment.
   *
   * @param item - the item
   */
  push(item: T): void {
    this.#queue.push({ item, at: performance.now() });
    this.#schedule();
  }

  #schedule(): void {
    if (this.#inFlight >= this.#options.slots || this.queued === 0) return;
    // Coalesce: every push and completion of this event-loop turn leads to one flush.
    this.#immediate ??= setImmediate(() => {
      this.#immediate = undefined;
      this.#flush();
    });
  }

  #flush(): void {
    const { slots, maxBatchRows, maxWaitUs } = this.#options;
    while (this.#inFlight < slots) {
      this.#dropWithdrawn();
      const oldest = this.#queue[this.#head];
      if (oldest === undefined) break;
      const free = slots - this.#inFlight;
      const queuedRows = this.#queuedRows(maxBatchRows * free);
      const waitedUs = (performance.now() - oldest.at) * 1000;
      if (waitedUs < maxWaitUs && queuedRows < maxBatchRows) {
        this.#armTimer(maxWaitUs - waitedUs);
        break;
      }
      // Share what is queued among the free slots: one slot taking everything would leave the
      // others idle until the next requests arrive (clients wait for their answers first).
      this.#dispatch(this.#take(Math.min(maxBatchRows, Math.ceil(queuedRows / free))));
    }
  }

  #dropWithdrawn(): void {
    while (this.#head < this.#queue.length && this.#queue[this.#head]!.item.cancelled) {
      this.#head++;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Rows queued, counted up to `limit` (no need to walk a long queue further). */
  #queuedRows(limit: number): number {
    let rows = 0;
    for (let i = this.#head; i < this.#queue.length && rows < limit; i++) {
      const { item } = this.#queue[i]!;
      if (!item.cancelled) rows += item.rows;
    }
    return rows;
  }

  /** Takes items from the head while they fit `maxRows` (always at least one). */
  #take(maxRows: number): T[] {
    const batch: T[] = [];
    let rows = 0;
    while (this.#head < this.#queue.length) {
      const { item } = this.#queue[this.#head]!;
      if (!item.cancelled) {
        if (batch.length > 0 && rows + item.rows > maxRows) break;
        batch.push(item);
        rows += item.rows;
      }
      this.#head++;
    }
    return batch;
  }

  #armTimer(remainingUs: number): void {
    const at = performance.now() + remainingUs / 1000;
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#timerAt = Number.POSITIVE_INFINITY;
        this.#flush();
      },
      Math.max(1, Math.ceil(remainingUs / 1000))
    );
  }

  #dispatch(batch: T[]): void {
    this.#inFlight++;
    void this.#run(batch)
      .catch(() => undefined)
      .finally(() => {
        this.#inFlight--;
        this.#schedule();
      });
  }
}
