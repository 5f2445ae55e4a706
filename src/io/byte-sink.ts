/**
 * A tiny awaitable byte sink over a file handle, used by every format writer, plus a pump that
 * drains an async byte iterable (Arrow's writers, parquet-wasm's output stream) into it.
 *
 * @module
 */
import type { FileHandle } from 'node:fs/promises';

/** Where encoded bytes go; `write` resolves once the bytes are handed to the OS. */
export interface ByteSink {
  write(chunk: Uint8Array | string): Promise<void>;
}

/**
 * Wraps a file handle as a {@link ByteSink}.
 *
 * @param fh - an open, writable file handle
 * @returns the sink
 */
export function fileSink(fh: FileHandle): ByteSink {
  return {
    async write(chunk) {
      if (typeof chunk === 'string') await fh.write(chunk, null, 'utf8');
      else await fh.write(chunk);
    },
  };
}

/**
 * Copies an async byte iterable into a sink in the background, and lets producers wait until
 * the bytes produced so far have been written (so memory stays bounded to about one batch).
 */
export class BytePump {
  private idle = true;
  private waiters: (() => void)[] = [];
  /** Settles when the source ends (or fails). */
  readonly done: Promise<void>;

  /**
   * @param source - the bytes to copy (consumed until it ends)
   * @param sink - where they go
   */
  constructor(source: AsyncIterable<Uint8Array>, sink: ByteSink) {
    this.done = (async () => {
      try {
        for await (const chunk of source) {
          this.idle = false;
          await sink.write(chunk);
          this.idle = true;
          this.wake();
        }
      } finally {
        this.idle = true;
        this.wake();
      }
    })();
    // The failure is reported through `done`/`drained`; avoid an unhandled rejection meanwhile.
    this.done.catch(() => undefined);
  }

  /** Resolves once the chunks queued so far have been written (or rejects with a sink error). */
  async drained(): Promise<void> {
    // Let the queue deliver chunks that were enqueued synchronously before we look at `idle`.
    await new Promise<void>((r) => setImmediate(r));
    while (!this.idle) {
      await Promise.race([new Promise<void>((r) => this.waiters.push(r)), this.done]);
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
