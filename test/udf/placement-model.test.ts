// The placement cost model, pure: decisions from injected costs (no threads, no clock).
import { describe, expect, it } from 'vitest';
import {
  CostModel,
  forecast,
  type CostModelOptions,
  type PlacementMode,
  type WorkerObservation,
} from '../../src/udf/placement-model.js';

const env = { workers: 2, cores: 2, modelBytes: 1_000 };
const ROWS = 10_000;

/** A worker task of ROWS rows: `computeMs` in the model, `moveMs` of fixed trip. */
function worker(
  computeMs: number,
  o: Partial<WorkerObservation> & { tripMs?: number } = {}
): WorkerObservation {
  const tripMs = o.tripMs ?? 1;
  return {
    rows: ROWS,
    copiedBytes: 800_000,
    encodeMs: 0.4,
    resultMs: 0.01,
    handlerMs: computeMs + 0.1,
    predictMs: computeMs,
    convertMs: 0,
    loadMs: 0,
    elapsedMs: computeMs + 0.1 + tripMs,
    busyMs: 0,
    queued: false,
    ...o,
  };
}

function model(
  mode: PlacementMode = 'auto',
  options: CostModelOptions = {},
  pinned: string | null = null
) {
  // No warm-up: these tests inject the samples they mean (the warm-up has its own test).
  return new CostModel(mode, env, { probeEvery: 0, warmupTasksPerWorker: 0, ...options }, pinned);
}

const task = { rows: ROWS, copiedBytes: 800_000 };

describe('forecast', () => {
  const costs = {
    computeMsPerRow: 1e-4,
    callerComputeMsPerRow: 1e-4,
    copyMsPerByte: 1e-6,
    resultMsPerRow: 0,
    workerMoveMsPerRow: 0,
    tripMs: 0.2,
    loadMs: 0,
  };

  it('counts the copy only for the bytes that are copied', () => {
    const copied = forecast(costs, { rows: ROWS, copiedBytes: 800_000 }, env);
    const shared = forecast(costs, { rows: ROWS, copiedBytes: 0 }, env);
    expect(copied.callerMs).toBeCloseTo(1);
    expect(copied.moveMs).toBeCloseTo(0.8 + 0.2);
    expect(shared.moveMs).toBeCloseTo(0.2);
    expect(shared.workersMs).toBeLessThan(copied.workersMs);
    // Shared input: the work splits over both workers.
    expect(shared.workersMs).toBeCloseTo((1 + 0.2) / 2);
  });

  it('uses only the workers that pay off when the driver cannot feed more', () => {
    const f = forecast(
      { ...costs, copyMsPerByte: 1.25e-6 },
      { rows: ROWS, copiedBytes: 800_000 },
      { workers: 8, cores: 16 }
    );
    // The driver copies 1 ms per batch; each worker needs 1.2 ms: two workers keep up.
    expect(f.workers).toBe(2);
    expect(f.workersMs).toBeCloseTo(1);
  });

  it('never counts on more cores than the machine has', () => {
    const f = forecast(costs, { rows: ROWS, copiedBytes: 0 }, { workers: 8, cores: 2 });
    expect(f.workers).toBe(2);
    expect(f.workersMs).toBeCloseTo(0.6);
  });
});

describe('forecast: a result copied into one array on both sides', () => {
  const costs = {
    computeMsPerRow: 4.5e-5,
    callerComputeMsPerRow: 4e-5,
    copyMsPerByte: 1e-6,
    resultMsPerRow: 7.5e-6,
    workerMoveMsPerRow: 1.7e-6,
    tripMs: 1.3,
    loadMs: 0,
  };
  // 2M rows of the linear model on a table in shared memory, as measured: 1M-row tasks.
  const shape = { rows: 1_000_000, copiedBytes: 0 };

  it('charges the calling thread the copy only when its call is assembled there too', () => {
    const lone = forecast(costs, shape, env);
    const assembled = forecast(costs, { ...shape, assembled: true }, env);
    expect(lone.callerMs).toBeCloseTo(40);
    expect(assembled.callerMs).toBeCloseTo(40 + 7.5);
    expect(assembled.computeMs).toBeCloseTo(40);
    expect(assembled.workersMs).toBeCloseTo(lone.workersMs);
    // The workers' side counts the copy either way.
    expect(lone.moveMs).toBeCloseTo(7.5 + 1.3 + 1.7);
  });

  it('no longer finds the workers scaling poorly on such a call', () => {
    const speedup = (f: { callerMs: number; workersMs: number }) => f.callerMs / f.workersMs;
    expect(speedup(forecast(costs, shape, env))).toBeLessThan(0.8 * 2);
    expect(speedup(forecast(costs, { ...shape, assembled: true }, env))).toBeGreaterThan(0.8 * 2);
  });
});

describe('CostModel decisions', () => {
  it('starts on the workers: nothing is measured yet', () => {
    const m = model();
    const d = m.decide(task);
    expect(d.placement).toBe('workers');
    expect(d.workers).toBe(2);
    expect(d.forecast).toBeNull();
    expect(m.reason).toMatch(/measuring/);
  });

  it('fans out a compute-heavy model on every worker', () => {
    const m = model();
    for (let i = 0; i < 5; i++) m.observeWorkers(worker(50));
    const d = m.decide(task);
    expect(d).toMatchObject({ placement: 'workers', workers: 2, probe: false });
    expect(d.forecast!.callerMs / d.forecast!.workersMs).toBeGreaterThan(1.8);
  });

  it('moves a cheap model to the calling thread once the time saved pays for its load', () => {
    const m = model('auto', { minSwitchMs: 20 });
    m.observeWorkers(worker(0.5, { loadMs: 30, queued: true }));
    for (let i = 0; i < 4; i++) m.observeWorkers(worker(0.5, { tripMs: 2 }));
    const decisions: string[] = [];
    for (let i = 0; i < 40 && m.current === 'workers'; i++)
      decisions.push(m.decide(task).placement);
    // Each batch would save ~2.5 ms on the caller; the load (30 ms) is paid after ~12 batches.
    expect(decisions.length).toBeGreaterThan(8);
    expect(decisions.at(-1)).toBe('caller');
    expect(decisions.slice(0, -1).every((p) => p === 'workers')).toBe(true);
    expect(m.switches).toBe(1);
    expect(m.reason).toMatch(/moving costs more than it gains/);
  });

  it('switches at once when the model is already loaded on the calling thread', () => {
    const m = model();
    m.callerLoaded();
    for (let i = 0; i < 3; i++) m.observeWorkers(worker(0.5, { tripMs: 2 }));
    expect(m.decide(task).placement).toBe('caller');
  });

  it('counts input already in shared memory as nearly free to move', () => {
    const m = model();
    m.callerLoaded();
    // Copying 800 KB costs 4 ms here, the model 3 ms, the trip 0.2 ms.
    for (let i = 0; i < 3; i++) m.observeWorkers(worker(3, { encodeMs: 4, tripMs: 0.2 }));
    expect(m.decide({ rows: ROWS, copiedBytes: 800_000 }).placement).toBe('caller');
    const shared = m.decide({ rows: ROWS, copiedBytes: 0 });
    expect(shared.placement).toBe('workers');
    expect(shared.workers).toBe(2);
  });

  it('goes back to the workers when the batches get expensive, with a hysteresis band', () => {
    const m = model();
    m.callerLoaded();
    for (let i = 0; i < 3; i++) m.observeWorkers(worker(0.5, { tripMs: 2 }));
    expect(m.decide(task).placement).toBe('caller');
    // Slightly more expensive here: inside the band, stays.
    for (let i = 0; i < 15; i++) m.observeCaller({ rows: ROWS, computeMs: 1.8 });
    const inBand = m.decide(task);
    const speedup = inBand.forecast!.callerMs / inBand.forecast!.workersMs;
    expect(speedup).toBeGreaterThan(1.1);
    expect(speedup).toBeLessThan(1.3);
    expect(inBand.placement).toBe('caller');
    // Much more expensive: back to the workers.
    for (let i = 0; i < 15; i++) m.observeCaller({ rows: ROWS, computeMs: 40 });
    expect(m.decide(task).placement).toBe('workers');
    expect(m.switches).toBe(2);
  });

  it('follows the recent batches, not the first ones (median of a window)', () => {
    const m = model('auto', { window: 5 });
    m.callerLoaded();
    for (let i = 0; i < 5; i++) m.observeWorkers(worker(50));
    expect(m.decide(task).placement).toBe('workers');
    for (let i = 0; i < 3; i++) m.observeWorkers(worker(0.2, { tripMs: 2 }));
    expect(m.decide(task).placement).toBe('caller');
  });

  it('probes the calling thread when the workers scale poorly, and moves there if it is faster alone', () => {
    // A memory-bound model: 8 ms per batch on each of two busy workers, plus a 2 ms copy.
    const m = model('auto', { minSwitchMs: 20 });
    for (let i = 0; i < 5; i++) m.observeWorkers(worker(8, { encodeMs: 2, tripMs: 0.5 }));
    const first = m.decide(task);
    const speedup = first.forecast!.callerMs / first.forecast!.workersMs;
    expect(speedup).toBeGreaterThan(1.3);
    expect(speedup).toBeLessThan(1.6);
    // Workers until they have spent twice the price of a load (40 ms), then one probe.
    const ds = [first];
    while (ds.length < 20 && !ds.at(-1)!.probe) ds.push(m.decide(task));
    expect(ds.at(-1)).toMatchObject({ placement: 'caller', probe: true });
    expect(ds.length).toBeGreaterThan(5);
    expect(m.current).toBe('workers');
    // Alone, the calling thread runs the batch in 4 ms: better than 5.3 on the workers.
    m.callerLoaded();
    m.observeCaller({ rows: ROWS, computeMs: 4 });
    expect(m.decide(task).placement).toBe('caller');
    expect(m.current).toBe('caller');
  });

  it('never probes the calling thread for a model the workers scale well', () => {
    const m = model('auto', { minSwitchMs: 1, probeEvery: 2 });
    m.callerLoaded();
    for (let i = 0; i < 5; i++) m.observeWorkers(worker(50));
    expect(Array.from({ length: 100 }, () => m.decide(task).placement)).not.toContain('caller');
  });

  it('re-measures the calling thread while it has fewer than 3 samples: one outlier cannot pin auto to the workers', () => {
    const m = model('auto', { minSwitchMs: 1, probeEvery: 2 });
    m.callerLoaded();
    for (let i = 0; i < 5; i++) m.observeWorkers(worker(5));
    // One batch here that shared the cores with something: 80x its real cost.
    m.observeCaller({ rows: ROWS, computeMs: 80 });
    const ds = Array.from({ length: 12 }, () => m.decide(task));
    expect(ds.filter((d) => d.placement === 'caller' && d.probe).length).toBeGreaterThan(0);
    expect(m.current).toBe('workers');
    // Two honest samples: the median is the real cost, and the calling thread wins.
    m.observeCaller({ rows: ROWS, computeMs: 1 });
    m.observeCaller({ rows: ROWS, computeMs: 1 });
    expect(m.decide(task).placement).toBe('caller');
    expect(m.current).toBe('caller');
  });

  it("does not sample the workers' first 2 x W tasks (their warm-up), yet records their load", () => {
    const m = model('auto', { warmupTasksPerWorker: 2 });
    m.callerLoaded();
    // Four cold tasks (2 per worker) that make the workers look slower than the calling thread.
    m.observeWorkers(worker(0.5, { loadMs: 40, tripMs: 30 }));
    for (let i = 0; i < 3; i++) m.observeWorkers(worker(20, { tripMs: 30 }));
    expect(m.estimates()).toMatchObject({ computeMsPerRow: null, tripMs: null, loadMs: 40 });
    expect(m.decide(task)).toMatchObject({ placement: 'workers', forecast: null });
    expect(m.reason).toMatch(/measuring/);
    // Warm tasks of a costly model: sampled, and the workers keep it.
    for (let i = 0; i < 3; i++) m.observeWorkers(worker(20, { tripMs: 0.5 }));
    expect(m.estimates().computeMsPerRow).toBeCloseTo(20 / ROWS);
    expect(m.estimates().tripMs).toBeCloseTo(0.5);
    expect(m.decide(task)).toMatchObject({ placement: 'workers', probe: false });
    expect(m.switches).toBe(0);
  });

  it('defaults to a warm-up of 2 tasks per worker', () => {
    const m = new CostModel('auto', env, { probeEvery: 0 });
    m.callerLoaded();
    for (let i = 0; i < 4; i++) m.observeWorkers(worker(0.5, { tripMs: 2 }));
    expect(m.decide(task).forecast).toBeNull();
    m.observeWorkers(worker(0.5, { tripMs: 2 }));
    expect(m.decide(task).placement).toBe('caller');
  });

  it('ignores trips of tasks that waited for a worker or loaded the model', () => {
    const m = model();
    m.observeWorkers(worker(1, { tripMs: 100, queued: true }));
    m.observeWorkers(worker(1, { tripMs: 100, loadMs: 50 }));
    expect(m.estimates().tripMs).toBeNull();
    m.observeWorkers(worker(1, { tripMs: 10, busyMs: 9.5 }));
    expect(m.estimates().tripMs).toBeCloseTo(0.5);
    expect(m.estimates().loadMs).toBe(50);
  });

  it('probes the other side every probeEvery batches (no back-off)', () => {
    const m = model('auto', { probeEvery: 4, maxProbeBackoff: 1 });
    m.callerLoaded();
    for (let i = 0; i < 3; i++) m.observeWorkers(worker(0.5, { tripMs: 2 }));
    expect(m.decide(task)).toMatchObject({ placement: 'caller', probe: false });
    const ds = Array.from({ length: 12 }, () => m.decide(task));
    const probes = ds.filter((d) => d.probe);
    expect(probes.length).toBe(3);
    expect(probes.every((d) => d.placement === 'workers')).toBe(true);
    expect(m.probes).toBe(3);
  });

  it('backs off: each probe that changes nothing doubles the interval, up to the bound', () => {
    const m = model('auto', { probeEvery: 2, maxProbeBackoff: 4 });
    m.callerLoaded();
    for (let i = 0; i < 3; i++) m.observeWorkers(worker(0.5, { tripMs: 2 }));
    expect(m.decide(task)).toMatchObject({ placement: 'caller', probe: false });
    const ds = Array.from({ length: 40 }, () => m.decide(task));
    const at = ds.flatMap((d, i) => (d.probe ? [i + 1] : []));
    // Intervals 2, 4, 8, then 8 (2 x the bound 4).
    expect(at.slice(0, 5)).toEqual([2, 6, 14, 22, 30]);
  });

  it('stays on the workers when pinned (timeoutMs, retries), for a large package, or after a failed caller load', () => {
    const cheap = (m: CostModel) => {
      for (let i = 0; i < 3; i++) m.observeWorkers(worker(0.1, { tripMs: 5 }));
      return Array.from({ length: 50 }, () => m.decide(task).placement);
    };
    const pinned = model('auto', {}, 'timeoutMs is set');
    expect(cheap(pinned).every((p) => p === 'workers')).toBe(true);
    expect(pinned.reason).toMatch(/timeoutMs/);
    const big = new CostModel(
      'auto',
      { ...env, modelBytes: 300 * 2 ** 20 },
      { probeEvery: 0, warmupTasksPerWorker: 0 }
    );
    expect(cheap(big).every((p) => p === 'workers')).toBe(true);
    expect(big.reason).toMatch(/too large/);
    const failed = model();
    failed.callerLoaded();
    failed.observeWorkers(worker(0.1, { tripMs: 5 }));
    expect(failed.decide(task).placement).toBe('caller');
    failed.callerFailed('no luck');
    expect(cheap(failed).every((p) => p === 'workers')).toBe(true);
    expect(failed.reason).toMatch(/no luck/);
  });

  it("'workers' and 'caller' never move, yet measure and forecast", () => {
    const w = model('workers');
    const c = model('caller');
    for (let i = 0; i < 3; i++) w.observeWorkers(worker(0.1, { tripMs: 5 }));
    w.callerLoaded();
    for (let i = 0; i < 20; i++) expect(w.decide(task).placement).toBe('workers');
    expect(w.workers).toBe(2);
    expect(w.lastForecast).not.toBeNull();
    expect(w.reason).toMatch(/^placement: 'workers'; workers 0\.\d+x/);
    c.observeCaller({ rows: ROWS, computeMs: 400 });
    for (let i = 0; i < 20; i++) expect(c.decide(task).placement).toBe('caller');
    expect(c.estimates().callerComputeMsPerRow).toBeCloseTo(0.04);
    expect(c.estimates().computeMsPerRow).toBeNull();
  });
});
