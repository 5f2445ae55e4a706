/**
 * How a call's rows are cut into worker tasks: balanced, at most `batchSize` rows each, enough
 * of them for every worker, and shrinking towards the end when few tasks must keep W workers
 * busy (guided self-scheduling).
 *
 * @module
 */

/**
 * Splits a table into tasks of at most `batchSize` rows, and into enough tasks that every
 * worker gets work: a multiple of `workers` tasks (at least `minTasksPerWorker` per worker,
 * default 2) when the table has `minTaskRows` rows for each of them. Uneven fixed-size tasks
 * leave a core idle (perf-probes: 200K rows, 65536-row tasks, 2 workers ran 1.5x instead of
 * 2.4x).
 *
 * When that minimum, not `batchSize`, sets the number of tasks (a table of less than
 * `minTasksPerWorker * workers` batches), the tasks shrink towards the end ({@link guidedSizes}):
 * tasks are handed to whichever worker is free, and with equal tasks, 2 per worker, each worker
 * ends up with 2 whatever its speed, so the call waits for the slower one. On this VM two
 * workers ran the same model 2-20% apart within one call (issue 9: the MLP, 60K rows).
 *
 * @param numRows - rows of the table
 * @param opts - the UDF's options (`minTasksPerWorker`: 1 for input already in shared memory)
 * @returns the row count of each task, in order
 */
export function planTaskSizes(
  numRows: number,
  opts: { batchSize: number; workers: number; minTaskRows: number; minTasksPerWorker?: number }
): number[] {
  if (numRows === 0) return [];
  const { batchSize, workers, minTaskRows, minTasksPerWorker = 2 } = opts;
  const byBatch = Math.ceil(numRows / batchSize);
  let tasks = byBatch;
  const affordable = Math.max(1, Math.floor(numRows / minTaskRows));
  if (affordable >= workers) {
    tasks = Math.max(tasks, Math.min(minTasksPerWorker * workers, affordable));
    tasks = Math.ceil(tasks / workers) * workers;
  } else {
    tasks = Math.max(tasks, affordable);
  }
  const guided =
    minTasksPerWorker >= 2 && workers > 1 && byBatch <= minTasksPerWorker * workers
      ? guidedSizes(numRows, workers, minTaskRows, batchSize)
      : undefined;
  return guided ?? evenSizes(numRows, tasks);
}

/**
 * Guided self-scheduling in rounds of `workers` tasks: each round takes half of the rows left
 * (a task each of `1 / (2 * workers)` of them), down to tasks of a quarter of the first one's
 * size; what remains then is split evenly over the workers. A worker that runs slower
 * takes fewer tasks, and the call waits at most for a small last one. 60K rows on 2 workers:
 * 15000, 15000, 7500, 7500, 3750 x 4 (8 tasks instead of 4 x 15000; the MLP of
 * `benchmarks/placement.mjs` ran 4% faster in 8 of 10 A/B pairs of fresh processes).
 *
 * @returns the sizes, or undefined when the first task is too small to halve twice above
 *   `minTaskRows` (even tasks then)
 */
function guidedSizes(
  numRows: number,
  workers: number,
  minTaskRows: number,
  batchSize: number
): number[] | undefined {
  const first = Math.min(batchSize, Math.ceil(numRows / (2 * workers)));
  const floor = Math.max(minTaskRows, Math.ceil(first / 4));
  if (first < 2 * floor) return undefined;
  const sizes: number[] = [];
  let rest = numRows;
  for (let size = first; size >= floor && rest > 0; size = Math.ceil(rest / (2 * workers))) {
    for (let i = 0; i < workers && rest > 0; i++) {
      const task = Math.min(size, rest);
      sizes.push(task);
      rest -= task;
    }
  }
  if (rest > 0) {
    const spread = Math.min(workers, Math.max(1, Math.floor(rest / minTaskRows)));
    sizes.push(...evenSizes(rest, Math.max(spread, Math.ceil(rest / batchSize))));
  }
  return sizes;
}

/** `numRows` split into `tasks` sizes that differ by at most 1. */
function evenSizes(numRows: number, tasks: number): number[] {
  const sizes: number[] = [];
  for (let i = 0; i < tasks; i++)
    sizes.push(Math.floor(((i + 1) * numRows) / tasks) - Math.floor((i * numRows) / tasks));
  return sizes;
}
