// The dispatch policy of the pool backend's micro-batcher, without threads: batches go to a free
// slot at once (maxWaitUs 0) or after the wait, bounded by maxBatchRows; requests queue and merge
// while every slot is busy; withdrawn (timed out) requests are never dispatched.
import { describe, expect, it, vi } from 'vitest';
import { MicroBatcher, type BatchItem } from '../../src/server/micro-batcher.js';

interface Item extends BatchItem {
  id: number;
  cancelled: boolean;
}

function item(id: number, rows = 1): Item {
  return { id, rows, cancelled: false };
}

/** A run function whose batches finish when the test says so. */
function controlledRuns() {
  const batches: number[][] = [];
  const finishers: (() => void)[] = [];
  const run = (batch: Item[]) => {
    batches.push(batch.map((i) => i.id));
    return new Promise<void>((resolve) => finishers.push(resolve));
  };
  const finish = async (index: number) => {
    finishers[index]!();
    await tick();
  };
  return { batches, run, finish };
}

/** Lets setImmediate callbacks and promise reactions run. */
function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

describe('MicroBatcher', () => {
  it('sends a lone request at once, and merges the requests that queue while the slot is busy', async () => {
    const { batches, run, finish } = controlledRuns();
    const b = new MicroBatcher<Item>({ slots: 1, maxBatchRows: 100, maxWaitUs: 0 }, run);
    b.push(item(1));
    await tick();
    expect(batches).toEqual([[1]]);
    for (let i = 2; i <= 6; i++) b.push(item(i));
    await tick();
    expect(batches).toEqual([[1]]);
    expect(b.queued).toBe(5);
    await finish(0);
    expect(batches).toEqual([[1], [2, 3, 4, 5, 6]]);
    expect(b.inFlight).toBe(1);
  });

  it('requests pushed in the same event-loop turn leave together', async () => {
    const { batches, run } = controlledRuns();
    const b = new MicroBatcher<Item>({ slots: 1, maxBatchRows: 100, maxWaitUs: 0 }, run);
    b.push(item(1));
    b.push(item(2));
    b.push(item(3));
    await tick();
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('shares the queue evenly among the free slots', async () => {
    const { batches, run, finish } = controlledRuns();
    const b = new MicroBatcher<Item>({ slots: 2, maxBatchRows: 100, maxWaitUs: 0 }, run);
    for (let i = 1; i <= 5; i++) b.push(item(i));
    await tick();
    expect(batches).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
    for (let i = 6; i <= 9; i++) b.push(item(i));
    await tick();
    await finish(0);
    // One slot free: it takes everything queued.
    expect(batches[2]).toEqual([6, 7, 8, 9]);
  });

  it('cuts batches at maxBatchRows (a larger request goes alone) and fills every free slot', async () => {
    const { batches, run } = controlledRuns();
    const b = new MicroBatcher<Item>({ slots: 3, maxBatchRows: 10, maxWaitUs: 0 }, run);
    b.push(item(1, 4));
    b.push(item(2, 4));
    b.push(item(3, 4));
    b.push(item(4, 25));
    b.push(item(5, 1));
    await tick();
    expect(batches).toEqual([[1, 2], [3], [4]]);
    expect(b.queued).toBe(1);
  });

  it('with maxWaitUs, waits for more requests unless the batch is full', async () => {
    const { batches, run } = controlledRuns();
    const b = new MicroBatcher<Item>({ slots: 1, maxBatchRows: 3, maxWaitUs: 30_000 }, run);
    b.push(item(1));
    await tick();
    expect(batches).toEqual([]);
    b.push(item(2));
    b.push(item(3));
    await tick();
    // Full: sent before the wait is over.
    expect(batches).toEqual([[1, 2, 3]]);

    // Not full: sent once the oldest request has waited maxWaitUs (a fake clock).
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      const c = controlledRuns();
      const waiting = new MicroBatcher<Item>(
        { slots: 1, maxBatchRows: 100, maxWaitUs: 30_000 },
        c.run
      );
      waiting.push(item(7));
      await tick();
      vi.advanceTimersByTime(20);
      await tick();
      expect(c.batches).toEqual([]);
      waiting.push(item(8));
      vi.advanceTimersByTime(10);
      await tick();
      // The wait counts from the oldest request: 8 leaves with 7 after 30 ms, not 8's own 30.
      expect(c.batches).toEqual([[7, 8]]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('never dispatches a withdrawn request', async () => {
    const { batches, run, finish } = controlledRuns();
    const b = new MicroBatcher<Item>({ slots: 1, maxBatchRows: 100, maxWaitUs: 0 }, run);
    b.push(item(1));
    await tick();
    const gone = item(2);
    b.push(gone);
    b.push(item(3));
    gone.cancelled = true;
    await finish(0);
    expect(batches).toEqual([[1], [3]]);
  });

  it('frees the slot when a run rejects', async () => {
    const batches: number[][] = [];
    const b = new MicroBatcher<Item>({ slots: 1, maxBatchRows: 100, maxWaitUs: 0 }, (batch) => {
      batches.push(batch.map((i) => i.id));
      return Promise.reject(new Error('boom'));
    });
    b.push(item(1));
    await tick();
    b.push(item(2));
    await tick();
    expect(batches).toEqual([[1], [2]]);
    expect(b.inFlight).toBe(0);
  });
});
