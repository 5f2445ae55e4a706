// How a call's rows are cut into tasks: pure arithmetic, checked over a grid of sizes.
import { describe, expect, it } from 'vitest';
import { planTaskSizes } from '../../src/udf/plan-task-sizes.js';

describe('planTaskSizes', () => {
  it('plans balanced tasks, at most batchSize rows each', () => {
    const opts = { batchSize: 65_536, workers: 2, minTaskRows: 1024 };
    // Fewer rows than 2 batches per worker: tasks shrink towards the end (guided).
    expect(planTaskSizes(200_000, opts)).toEqual([
      50_000, 50_000, 25_000, 25_000, 12_500, 12_500, 12_500, 12_500,
    ]);
    expect(planTaskSizes(60_000, opts)).toEqual([
      15_000, 15_000, 7500, 7500, 3750, 3750, 3750, 3750,
    ]);
    const three = planTaskSizes(300_000, opts);
    expect(three).toHaveLength(6);
    expect(Math.max(...three) - Math.min(...three)).toBeLessThanOrEqual(1);
    expect(planTaskSizes(1500, opts)).toEqual([1500]);
    expect(planTaskSizes(10_000, { ...opts, workers: 4 }).length).toBe(8);
    expect(planTaskSizes(0, opts)).toEqual([]);
    const large = { ...opts, batchSize: 1_048_576, minTasksPerWorker: 1 };
    expect(planTaskSizes(200_000, large)).toEqual([100_000, 100_000]);
    expect(planTaskSizes(200_000, { ...large, minTasksPerWorker: undefined })).toHaveLength(8);
    expect(planTaskSizes(200_000, { ...opts, batchSize: 60_000, minTasksPerWorker: 1 })).toEqual([
      50_000, 50_000, 50_000, 50_000,
    ]);
    for (const n of [1, 999, 4097, 131_073, 1_000_003]) {
      const sizes = planTaskSizes(n, { ...opts, batchSize: 4096 });
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(n);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(4096);
    }
  });

  it('guided sizes: never above batchSize, never increasing, a small last round', () => {
    for (const workers of [2, 3, 4, 8]) {
      for (const batchSize of [1000, 4096, 65_536]) {
        for (const n of [1500, 4000, 9999, 60_000, 131_073, 200_000, 262_144]) {
          const sizes = planTaskSizes(n, { batchSize, workers, minTaskRows: 1024 });
          expect(sizes.reduce((a, b) => a + b, 0)).toBe(n);
          expect(Math.max(...sizes)).toBeLessThanOrEqual(batchSize);
          if (Math.ceil(n / batchSize) > 2 * workers) continue; // batchSize sets the count: even
          for (let i = 1; i < sizes.length; i++) {
            expect(
              sizes[i]!,
              `${n} rows, ${workers} workers: ${sizes.join(',')}`
            ).toBeLessThanOrEqual(sizes[i - 1]! + 1);
          }
          if (sizes.length > 2 * workers) {
            // Guided: the last task is at most half the first.
            expect(sizes.at(-1)! * 2).toBeLessThanOrEqual(sizes[0]! + 1);
          }
        }
      }
    }
    // Input already in shared memory keeps one even task per worker.
    expect(
      planTaskSizes(60_000, {
        batchSize: 65_536,
        workers: 2,
        minTaskRows: 1024,
        minTasksPerWorker: 1,
      })
    ).toEqual([30_000, 30_000]);
  });
});
