/**
 * The cost model behind `placement: 'auto'`: what a batch costs to compute, what it costs to
 * move to a worker and back, and from those where the next batch runs (the calling thread, or
 * k of the W workers). Pure: no clock, no I/O; the UDF feeds it measurements
 * ({@link CostModel.observeWorkers}, {@link CostModel.observeCaller}) and asks
 * {@link CostModel.decide} per batch, so tests drive it with injected costs.
 *
 * ## What is measured (medians of the last 15 samples, per row, byte or task)
 * The first 2 x W worker tasks are the workers' warm-up and are not sampled (see
 * {@link CostModelOptions.warmupTasksPerWorker}).
 * - compute on the workers, ms per row: the model's `predict` (enforcement included) plus the
 *   conversion of its output to the result vector, as the workers report it per task. Measured
 *   while W workers run at once, so it includes what they cost each other (a memory-bound model
 *   runs slower per row on each of two busy cores than alone on one).
 * - compute on the calling thread, ms per row: the same, measured there (until measured, the
 *   workers' figure stands in).
 * - driver copy, ms per copied byte: `encodeTable` copying the columns into the slab. Only the
 *   bytes actually copied count: a table already in shared memory (jsfunc's readers,
 *   `shareTable`) copies nothing, so moving it costs almost nothing.
 * - driver result, ms per row: decoding the reply's result on the calling thread.
 * - worker move, ms per row: what a worker spends on a task besides the model (decoding the
 *   batch, encoding the result).
 * - trip, ms per task: the rest of a task's wall time (posting, tinypool's dispatch, the reply),
 *   less the time the calling thread was busy with other work meanwhile, sampled only from
 *   tasks that did not wait for a worker and did not load the model.
 * - load, ms: the model's load on a worker, the price of loading it on the calling thread too.
 *
 * ## Forecast for a batch of N rows copying B bytes
 * - caller: C = N x caller compute, plus N x result when the call's result is copied into
 *   one array on the calling thread too (`TaskShape.assembled`);
 * - workers, k of them: the driver copies serially, Md = B x copy + N x result; each worker
 *   runs Wc + Mw = N x worker compute + trip + N x workerMove; the wall time per batch is
 *   max(Md, (Wc + Mw) / k, (Md + Wc + Mw) / cores): the driver feeds at most 1/Md batches per
 *   ms, k workers finish k per (Wc + Mw), and all of it shares the machine's cores. k is the
 *   smallest count within 5% of the best ("as many workers as pay off").
 * "Moving" is Md + trip + N x workerMove, "computing" is C.
 *
 * ## Decision (auto)
 * speedup = C / workers' time. When the UDF starts its own workers (the default pool, no
 * `timeoutMs`, `retries` or `loadTimeoutMs`), its first batches run on the calling thread, one
 * at a time, while the workers start and load the model ({@link CostModel.beginCallerStart}):
 * a bridge, not a measurement (those batches share the cores with booting workers), so they
 * are not sampled. Once a worker has the model ({@link CostModel.endCallerStart}), or else
 * from the start, the next batches run on the workers (nothing is known yet, and the first
 * 2 x W tasks are not sampled), and:
 * - speedup under 1.1: moving costs more than it gains: the calling thread. The first such
 *   switch waits until the time it would have saved on the batches seen so far pays its price,
 *   the model's load there (as the workers measured it; at least 20 ms), and never happens for
 *   a package over 256 MiB (a second copy of a large model on the calling thread is the
 *   caller's decision: `placement: 'caller'`).
 * - speedup under 0.8 x min(W, cores) (the workers fall well short of W, typically a
 *   memory-bound model slowing its neighbours): the calling thread's own cost is worth
 *   measuring, so once the workers have spent twice the price above, one batch is probed there
 *   (the model loaded for it), then every 4th batch until 3 samples, then every 16th; a caller
 *   probe waits for the workers to be idle, so it measures the thread alone, as it would run.
 * - back from the calling thread only above 1.3 (a hysteresis band: noise must not flip the
 *   placement every batch); there, every 16th batch probes the workers (it runs in parallel
 *   with the next batch on the calling thread).
 * - a probe that changes nothing doubles the interval to the next (16, 32, ... 256 batches):
 *   on a steady workload probes cost next to nothing; a switch resets the interval.
 *
 * @module
 */

/** Where a UDF scores its batches: see `SparkUdfOptions.placement`. */
export type PlacementMode = 'auto' | 'workers' | 'caller';

/** Where one batch runs. */
export type Placement = 'caller' | 'workers';

/** The current estimates (null: not measured yet). */
export interface CostEstimates {
  /** Model predict + result conversion on a worker (with W running), ms per row. */
  computeMsPerRow: number | null;
  /** Model predict + result conversion on the calling thread, ms per row. */
  callerComputeMsPerRow: number | null;
  /** Driver-side copy of the input into shared memory, ms per copied byte. */
  copyMsPerByte: number | null;
  /** Driver-side decoding of a result, ms per row. */
  resultMsPerRow: number | null;
  /** Worker-side cost of a task besides the model (decode input, encode result), ms per row. */
  workerMoveMsPerRow: number | null;
  /** Fixed cost of one worker task: post, dispatch, reply (ms). */
  tripMs: number | null;
  /** The model's load on a worker (ms; the largest seen). */
  loadMs: number | null;
}

/** One task scored on a worker, as the UDF measured it. */
export interface WorkerObservation {
  rows: number;
  /** Bytes the encoder copied for this task (0 for input already in shared memory). */
  copiedBytes: number;
  /** Driver: encoding (copying) the task's input, ms. */
  encodeMs: number;
  /** Driver: decoding the result, ms. */
  resultMs: number;
  /** Driver: from posting the task to its reply, ms. */
  elapsedMs: number;
  /**
   * Driver: of `elapsedMs`, the time this thread was busy with other work (copying other
   * tasks' input, scoring batches itself): a reply waits for it, but it is not the trip's.
   */
  busyMs: number;
  /** Worker: the handler's whole run (load included), ms. */
  handlerMs: number;
  /** Worker: in the model's predict, ms. */
  predictMs: number;
  /** Worker: converting the output to the result vector, ms. */
  convertMs: number;
  /** Worker: loading the model (0 on a cache hit), ms. */
  loadMs: number;
  /** True when the task was posted while every worker was busy (its trip includes waiting). */
  queued: boolean;
}

/** One task scored on the calling thread. */
export interface CallerObservation {
  rows: number;
  /** predict + conversion, ms. */
  computeMs: number;
}

/** What the model knows about the machine and the UDF. */
export interface PlacementEnvironment {
  /** Worker threads of the pool (W). */
  workers: number;
  /** Cores of the machine (`os.availableParallelism()`). */
  cores: number;
  /** Size of the model package in bytes. */
  modelBytes: number;
}

/** One batch's shape. */
export interface TaskShape {
  rows: number;
  /** Bytes its encoding would copy (0: already in shared memory). */
  copiedBytes: number;
  /**
   * Its call's result is copied into one array on the calling thread wherever the batch runs
   * (an `apply` of more rows than one merged batch, with a fixed-width numeric result): that
   * copy, measured on the workers' replies as the result cost per row, then counts on both
   * sides. Default false: only a worker's result is copied.
   */
  assembled?: boolean;
}

/** Forecast of one batch on each side. */
export interface Forecast {
  /** ms on the calling thread. */
  callerMs: number;
  /** ms of wall time per batch on `workers` workers. */
  workersMs: number;
  /** The worker count that pays off (1..W). */
  workers: number;
  /** Moving the batch: driver copy + result + trip + worker-side move (ms). */
  moveMs: number;
  /** Computing the batch (ms). */
  computeMs: number;
}

/** A decision for one batch. */
export interface Decision {
  placement: Placement;
  /** Workers that pay off (the in-flight bound); W when unknown. */
  workers: number;
  /** True for an occasional run on the other side, to refresh its estimates. */
  probe: boolean;
  /** Why, in words (reported in stats). */
  reason: string;
  /** The forecast it rests on, when there was enough to forecast. */
  forecast: Forecast | null;
}

/** Knobs of the model (tests shrink them). */
export interface CostModelOptions {
  /** Samples each estimate is the median of. Default 15. */
  window?: number;
  /** Go to the caller when the workers' speedup falls below this. Default 1.1. */
  toCallerBelow?: number;
  /** Go back to the workers when their speedup rises above this. Default 1.3. */
  toWorkersAbove?: number;
  /** Least price of the first switch to the caller, ms. Default 20. */
  minSwitchMs?: number;
  /** Largest package auto loads on the calling thread, bytes. Default 256 MiB. */
  maxCallerModelBytes?: number;
  /** Probe the other side every this many batches (0: never). Default 16. */
  probeEvery?: number;
  /**
   * Each probe that leaves the placement as it was doubles the interval to the next one, up to
   * `probeEvery` x this (a probe costs: a batch moved for nothing, or a drained pipeline); a
   * switch resets it. Default 16 (every 256 batches at most). 1: no back-off.
   */
  maxProbeBackoff?: number;
  /**
   * Probe the calling thread when the workers' speedup is under this fraction of
   * min(W, cores). Default 0.8.
   */
  poorScaling?: number;
  /**
   * The first `warmupTasksPerWorker x W` worker tasks of a UDF are not sampled (their loads
   * are still recorded): they run cold, and their result copy and trip cost 2-6x what later
   * tasks' do (measured on 1M-row tasks; see {@link CostModel.observeWorkers}). Counted over
   * all workers, not per thread: tasks go to whichever worker is free. Default 2.
   */
  warmupTasksPerWorker?: number;
}

/** Defaults of {@link CostModelOptions}. */
export const kDefaultCostModelOptions: Readonly<Required<CostModelOptions>> = Object.freeze({
  window: 15,
  toCallerBelow: 1.1,
  toWorkersAbove: 1.3,
  minSwitchMs: 20,
  maxCallerModelBytes: 256 * 1024 * 1024,
  probeEvery: 16,
  maxProbeBackoff: 16,
  poorScaling: 0.8,
  warmupTasksPerWorker: 2,
});

/** Prior for the copy cost before any copy was measured: 2 GB/s. */
const kDefaultCopyMsPerByte = 0.5e-6;

/**
 * The median of the last `window` rates (value / weight): robust to the outliers a shared
 * machine produces (a GC pause, a first task importing its handler), and following the data
 * within `window / 2` samples when it changes.
 */
class RecentRate {
  readonly #rates: number[] = [];
  #next = 0;
  constructor(readonly window: number) {}
  add(value: number, weight: number): void {
    if (!(weight > 0) || !Number.isFinite(value)) return;
    const rate = Math.max(0, value) / weight;
    if (this.#rates.length < this.window) this.#rates.push(rate);
    else this.#rates[this.#next] = rate;
    this.#next = (this.#next + 1) % this.window;
  }
  get(): number | null {
    const n = this.#rates.length;
    if (n === 0) return null;
    const sorted = [...this.#rates].sort((a, b) => a - b);
    return n % 2 === 1 ? sorted[n >> 1]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
  }
}

/**
 * Forecasts one batch on the calling thread and on the workers (pure).
 *
 * @param costs - the estimates; missing ones must be filled by the caller
 * @param task - the batch
 * @param env - workers and cores
 * @returns the forecast
 */
export function forecast(
  costs: Required<{ [K in keyof CostEstimates]: number }>,
  task: TaskShape,
  env: Pick<PlacementEnvironment, 'workers' | 'cores'>
): Forecast {
  const n = task.rows;
  const computeMs = n * costs.callerComputeMsPerRow;
  // A call scored on the calling thread in several merged batches copies them into one array
  // too, as it does the workers' parts. Left out, the calling thread looked cheaper than it is:
  // 2M rows of a table in shared memory, 1M-row batches, 7.5 ms of copy per batch against
  // 40 ms of compute kept auto's estimate of the workers under 1.6x (so it kept probing this
  // thread) and once under 1.1x (so it moved here), where forced runs measured the workers
  // 1.06-1.43x faster (issue 9).
  const callerMs = computeMs + (task.assembled === true ? n * costs.resultMsPerRow : 0);
  const driverMs = task.copiedBytes * costs.copyMsPerByte + n * costs.resultMsPerRow;
  const workerMs = n * costs.computeMsPerRow + costs.tripMs + n * costs.workerMoveMsPerRow;
  const cores = Math.max(1, env.cores);
  const wall = (k: number) => Math.max(driverMs, workerMs / k, (driverMs + workerMs) / cores);
  let best = wall(1);
  for (let k = 2; k <= env.workers; k++) best = Math.min(best, wall(k));
  let workers = 1;
  while (workers < env.workers && wall(workers) > best * 1.05) workers++;
  return {
    callerMs,
    workersMs: wall(workers),
    workers,
    moveMs: driverMs + costs.tripMs + n * costs.workerMoveMsPerRow,
    computeMs,
  };
}

/**
 * The placement state of one UDF: estimates, where batches go now, and the switching rules of
 * the module comment.
 */
export class CostModel {
  readonly #o: Required<CostModelOptions>;
  readonly #env: PlacementEnvironment;
  readonly mode: PlacementMode;
  /** When set, auto stays on the workers (timeoutMs / retries: isolation was asked for). */
  readonly #pinned: string | null;
  readonly #compute: RecentRate;
  readonly #callerCompute: RecentRate;
  readonly #copy: RecentRate;
  readonly #result: RecentRate;
  readonly #workerMove: RecentRate;
  readonly #trip: RecentRate;
  #loadMs: number | null = null;
  #current: Placement;
  #callerReady = false;
  #callerFailed: string | null = null;
  #saved = 0;
  /** Worker time forecast for batches that scaled poorly, toward a first caller probe. */
  #spent = 0;
  #callerSamples = 0;
  #sinceProbe = 0;
  /** Multiplier of the probe interval: doubles per probe, back to 1 on a switch. */
  #backoff = 1;
  #workerSamples = 0;
  /** Worker tasks observed, warm-up included. */
  #workerTasks = 0;
  #switches = 0;
  #probes = 0;
  #reason: string;
  #last: Forecast | null = null;
  /** True while the first batches run on the calling thread until a worker has the model. */
  #starting = false;

  /**
   * @param mode - the UDF's placement option
   * @param env - workers, cores, package size
   * @param options - knobs; see {@link CostModelOptions}
   * @param pinned - a reason auto must stay on the workers (null: none)
   */
  constructor(
    mode: PlacementMode,
    env: PlacementEnvironment,
    options: CostModelOptions = {},
    pinned: string | null = null
  ) {
    this.#o = { ...kDefaultCostModelOptions, ...options };
    this.#env = env;
    this.mode = mode;
    this.#pinned = mode === 'auto' ? pinned : null;
    const w = this.#o.window;
    this.#compute = new RecentRate(w);
    this.#callerCompute = new RecentRate(w);
    this.#copy = new RecentRate(w);
    this.#result = new RecentRate(w);
    this.#workerMove = new RecentRate(w);
    this.#trip = new RecentRate(w);
    this.#current = mode === 'caller' ? 'caller' : 'workers';
    this.#reason =
      mode === 'auto'
        ? (this.#pinned ?? 'measuring: the first batches run on the workers')
        : `placement: '${mode}'`;
  }

  /** The current estimates. */
  estimates(): CostEstimates {
    return {
      computeMsPerRow: this.#compute.get(),
      callerComputeMsPerRow: this.#callerCompute.get(),
      copyMsPerByte: this.#copy.get(),
      resultMsPerRow: this.#result.get(),
      workerMoveMsPerRow: this.#workerMove.get(),
      tripMs: this.#trip.get(),
      loadMs: this.#loadMs,
    };
  }

  /** Where batches go now (probes aside). */
  get current(): Placement {
    return this.#starting ? 'caller' : this.#current;
  }

  /** True while the first batches run on the calling thread (see {@link beginCallerStart}). */
  get starting(): boolean {
    return this.#starting;
  }

  /**
   * Auto only: the first batches run on the calling thread, one at a time, while the workers
   * start and load the model (the UDF places them; {@link decide} is not asked meanwhile).
   */
  beginCallerStart(): void {
    if (this.mode !== 'auto' || this.#pinned !== null) return;
    this.#starting = true;
    this.#reason =
      'starting: batches run on the calling thread, one at a time, until a worker has the model loaded';
  }

  /** A worker has the model (or the calling thread could not load it): measuring begins. */
  endCallerStart(): void {
    if (!this.#starting) return;
    this.#starting = false;
    if (this.#callerFailed === null) {
      this.#reason = 'measuring: the first batches run on the workers';
    }
  }

  /** Why, in words. */
  get reason(): string {
    return this.#reason;
  }

  /** The last forecast made (null before the first). */
  get lastForecast(): Forecast | null {
    return this.#last;
  }

  /** Times the placement changed. */
  get switches(): number {
    return this.#switches;
  }

  /** Batches run on the other side to refresh its estimates. */
  get probes(): number {
    return this.#probes;
  }

  /** Workers that pay off now (W until measured). */
  get workers(): number {
    return this.mode === 'auto' && this.#current === 'workers' && this.#last !== null
      ? this.#last.workers
      : this.#env.workers;
  }

  /**
   * Records a task scored on a worker.
   *
   * @param o - its measurements
   */
  observeWorkers(o: WorkerObservation): void {
    if (o.loadMs > 0) this.#loadMs = Math.max(this.#loadMs ?? 0, o.loadMs);
    // Why skip the first tasks: on 2M rows of a table in shared memory (two 1M-row tasks per
    // call), the first four tasks after the start measured the result copy at 6-17 ms per 1M
    // rows and the trip at 7-10 ms, against 1-3 and 1-2 from the third call on; a median of
    // those few samples put the workers under the calling thread (0.9-1x where they ran
    // 1.4-1.8x faster) and auto moved there for good (issue 9).
    if (this.#workerTasks++ < this.#o.warmupTasksPerWorker * this.#env.workers) return;
    this.#workerSamples++;
    this.#compute.add(o.predictMs + o.convertMs, o.rows);
    if (o.copiedBytes > 0) this.#copy.add(o.encodeMs, o.copiedBytes);
    this.#result.add(o.resultMs, o.rows);
    this.#workerMove.add(o.handlerMs - o.loadMs - o.predictMs - o.convertMs, o.rows);
    // A first task (a load, the handler's import) or one that waited for a worker would
    // overstate the trip.
    if (!o.queued && o.loadMs === 0) this.#trip.add(o.elapsedMs - o.handlerMs - o.busyMs, 1);
  }

  /**
   * Records a task scored on the calling thread.
   *
   * @param o - its measurements
   */
  observeCaller(o: CallerObservation): void {
    this.#callerCompute.add(o.computeMs, o.rows);
    this.#callerSamples++;
  }

  /** The model is loaded on the calling thread (auto may now switch without paying a load). */
  callerLoaded(): void {
    this.#callerReady = true;
  }

  /**
   * Loading the model on the calling thread failed: auto stays on the workers from now on.
   *
   * @param message - why
   */
  callerFailed(message: string): void {
    this.#callerFailed = message;
    if (this.mode === 'auto' && this.#current === 'caller') {
      this.#current = 'workers';
      this.#switches++;
    }
    this.#reason = `the model could not be loaded on the calling thread: ${message}`;
  }

  /**
   * Where the next batch runs.
   *
   * @param task - its rows and the bytes moving it would copy
   * @returns the decision
   */
  decide(task: TaskShape): Decision {
    const costs = this.#filled();
    const f = costs === null ? null : forecast(costs, task, this.#env);
    if (f !== null) this.#last = f;
    const speedup = f === null ? 0 : f.callerMs / Math.max(f.workersMs, 1e-9);
    const ratio =
      f === null
        ? ''
        : `workers ${fmt(speedup)}x the calling thread (move ${fmtMs(f.moveMs)} vs compute ${fmtMs(f.computeMs)} per batch of ${task.rows} rows, ${task.copiedBytes} bytes copied)`;
    if (this.mode !== 'auto') {
      // Fixed placement: the costs are still measured and reported, never acted on.
      this.#reason = `placement: '${this.mode}'${f === null ? '' : `; ${ratio}`}`;
      return this.#decision(this.#current, false, this.#env.workers, this.#reason, f);
    }
    if (this.#pinned !== null || this.#callerFailed !== null || f === null) {
      return this.#decision('workers', false, this.#env.workers, this.#reason, f);
    }
    if (this.#current === 'workers') {
      const tooLarge = this.#env.modelBytes > this.#o.maxCallerModelBytes;
      const price = Math.max(this.#o.minSwitchMs, this.#loadMs ?? 0);
      if (speedup < this.#o.toCallerBelow) {
        if (tooLarge) {
          this.#reason = `${ratio}; the package is too large to load a second copy on the calling thread`;
        } else {
          this.#saved = Math.max(0, this.#saved + f.workersMs - f.callerMs);
          if (this.#callerReady || this.#saved >= price) {
            this.#switch('caller', `${ratio}: moving costs more than it gains`);
            return this.#decision('caller', false, f.workers, this.#reason, f);
          }
          this.#reason = `${ratio}; switching to the calling thread once the time saved pays its load (${fmtMs(this.#saved)} of ${fmtMs(price)})`;
        }
        return this.#decision('workers', false, f.workers, this.#reason, f);
      }
      this.#reason = ratio;
      const scaling = Math.min(this.#env.workers, this.#env.cores);
      const poor = speedup < this.#o.poorScaling * scaling;
      // Fewer than 3 samples of the calling thread: their median can be one outlier (a batch
      // that shared the cores with something), which would keep auto here for good.
      const unsure = this.#callerSamples > 0 && this.#callerSamples < 3;
      if (!tooLarge && (poor || unsure)) {
        // The workers fall short of W, or this thread's estimate is not yet to be trusted:
        // measure what the calling thread does alone.
        if (!this.#callerReady) {
          this.#spent += f.workersMs;
          if (this.#spent >= 2 * price) {
            this.#spent = 0;
            return this.#decision('caller', true, f.workers, this.#reason, f);
          }
        } else if (this.#probeDue(this.#callerSamples < 3 ? 4 : this.#o.probeEvery)) {
          return this.#decision('caller', true, f.workers, this.#reason, f);
        }
      }
      return this.#decision('workers', false, f.workers, this.#reason, f);
    }
    if (speedup > this.#o.toWorkersAbove) {
      this.#switch('workers', ratio);
      return this.#decision('workers', false, f.workers, this.#reason, f);
    }
    this.#reason = `${ratio}: moving costs more than it gains`;
    if (this.#probeDue(this.#o.probeEvery)) {
      return this.#decision('workers', true, f.workers, this.#reason, f);
    }
    return this.#decision('caller', false, f.workers, this.#reason, f);
  }

  #decision(
    placement: Placement,
    probe: boolean,
    workers: number,
    reason: string,
    f: Forecast | null
  ): Decision {
    if (probe) this.#probes++;
    return { placement, probe, workers, reason, forecast: f };
  }

  #probeDue(every: number): boolean {
    if (this.#o.probeEvery <= 0) return false;
    if (++this.#sinceProbe < every * this.#backoff) return false;
    this.#sinceProbe = 0;
    this.#backoff = Math.min(this.#backoff * 2, Math.max(1, this.#o.maxProbeBackoff));
    return true;
  }

  #switch(to: Placement, reason: string): void {
    this.#current = to;
    this.#switches++;
    this.#sinceProbe = 0;
    this.#backoff = 1;
    this.#reason = reason;
  }

  /** Every estimate a forecast needs, with priors where allowed; null when not measured yet. */
  #filled(): Required<{ [K in keyof CostEstimates]: number }> | null {
    const e = this.estimates();
    if (this.#workerSamples === 0 || e.computeMsPerRow === null) return null;
    return {
      computeMsPerRow: e.computeMsPerRow,
      callerComputeMsPerRow: e.callerComputeMsPerRow ?? e.computeMsPerRow,
      copyMsPerByte: e.copyMsPerByte ?? kDefaultCopyMsPerByte,
      resultMsPerRow: e.resultMsPerRow ?? 0,
      workerMoveMsPerRow: e.workerMoveMsPerRow ?? 0,
      // Not sampled yet (every task so far waited behind another): taken as free until it is.
      tripMs: e.tripMs ?? 0,
      loadMs: e.loadMs ?? 0,
    };
  }
}

function fmt(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

function fmtMs(ms: number): string {
  return `${fmt(ms)} ms`;
}
