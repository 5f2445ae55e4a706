// The slab pool on its own: sizes, reuse, bounds and the lifetime rules (answered tasks give
// their slab back, unanswered ones drop it). The UDF's use of it is in test/udf/placement.test.ts.
import { describe, expect, it } from 'vitest';
import { SlabPool, slabSize } from '../../src/pool/slab-pool.js';

describe('slabSize', () => {
  it('is at least 64 KiB, else at most 1/8 over the request', () => {
    expect(slabSize(1)).toBe(65_536);
    expect(slabSize(65_536)).toBe(65_536);
    for (const n of [65_537, 100_000, 5_000_000, 5_242_881, 123_456_789]) {
      const size = slabSize(n);
      expect(size).toBeGreaterThanOrEqual(n);
      expect(size / n).toBeLessThanOrEqual(1.125);
    }
    // Batches of slightly different sizes share a size class.
    expect(slabSize(5_000_000)).toBe(slabSize(5_100_000));
  });
});

describe('SlabPool', () => {
  it('reuses a released slab instead of allocating', () => {
    const pool = new SlabPool({ maxFree: 2 });
    const a = pool.lease(1000);
    expect(a).toBeInstanceOf(SharedArrayBuffer);
    pool.release(a);
    const b = pool.lease(900);
    expect(b).toBe(a);
    expect(pool.stats()).toMatchObject({ allocated: 1, reused: 1, leased: 1, free: 0 });
  });

  it('never hands out a slab twice at once, and picks the smallest that fits', () => {
    const pool = new SlabPool({ maxFree: 4 });
    const small = pool.lease(10);
    const big = pool.lease(1_000_000);
    const other = pool.lease(10);
    expect(new Set([small, big, other]).size).toBe(3);
    pool.release(big);
    pool.release(small);
    expect(pool.lease(20)).toBe(small);
    expect(pool.lease(20)).toBe(big);
    expect(pool.lease(500_000)).not.toBe(big);
  });

  it('drops (never reuses) a discarded slab: its task ended without an answer', () => {
    const pool = new SlabPool();
    const a = pool.lease(100);
    pool.discard(a);
    expect(pool.lease(100)).not.toBe(a);
    expect(pool.stats()).toMatchObject({ allocated: 2, reused: 0, discarded: 1 });
  });

  it('keeps at most maxFree idle slabs (the smallest go first) and none over maxPooledBytes', () => {
    const pool = new SlabPool({ maxFree: 2, maxPooledBytes: 300_000 });
    const slabs = [100_000, 200_000, 150_000].map((n) => pool.lease(n));
    const huge = pool.lease(1_000_000);
    for (const s of slabs) pool.release(s);
    pool.release(huge);
    const st = pool.stats();
    expect(st.free).toBe(2);
    expect(st.freeBytes).toBe(slabSize(150_000) + slabSize(200_000));
    expect(st.discarded).toBe(2);
    pool.setMaxFree(1);
    expect(pool.stats().free).toBe(1);
  });

  it('after close, keeps nothing: idle slabs are dropped, leased ones when they come back', () => {
    const pool = new SlabPool();
    const a = pool.lease(10);
    pool.release(pool.lease(10));
    pool.close();
    expect(pool.stats().free).toBe(0);
    pool.release(a);
    expect(pool.stats()).toMatchObject({ free: 0, leased: 0 });
  });

  it('ignores a buffer it did not lease', () => {
    const pool = new SlabPool();
    pool.release(new SharedArrayBuffer(8));
    pool.discard(new SharedArrayBuffer(8));
    expect(pool.stats()).toMatchObject({ free: 0, discarded: 0 });
  });
});
