// Issue 10, item 2: `serve --workers`. Over real loopback sockets: concurrent requests merged into
// one predict call with each result routed back, a bad request failing alone (bad body, schema
// mismatch, model error, a worker that dies), /ping answering while a synchronous model spins on
// the pool, 504 on time while it spins (and the runaway batch cancelled), 503 + Retry-After
// beyond the buffered-bytes bound, Arrow IPC bodies both ways, option checks.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromArrays, tableFromIPC, tableToIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelError } from '../../src/errors.js';
import type { BackendStats } from '../../src/server/backend.js';
import { serve, type ScoringServer, type ServeOptions } from '../../src/server/listen.js';
import { rawRequest, writeJsPackage, type RawResponse } from './helpers.js';

/**
 * With a `gate` path, a synchronous busy-wait until that file exists (a model that blocks its
 * thread; the tests open the gate when they are ready, so no test depends on how long anything
 * takes); with `summary`, the row count alone (an output that is not one entry per row); x = 13 throws, x = 99 kills the worker (process.exit); otherwise one row per input row
 * with `y = 2x` and the number of rows the predict call got (`batch`).
 */
const PROBE = `
import { existsSync } from 'node:fs';
export default class Probe {
  predict(context, input, params) {
    if (params.gate) { while (!existsSync(params.gate)) {} }
    if (params.summary) return input.numRows;
    const xs = Array.from(input.getChild('x').toArray(), Number);
    if (xs.includes(13)) throw new RangeError('unlucky 13');
    if (xs.includes(99)) process.exit(3);
    return xs.map((x) => ({ y: x * 2, batch: input.numRows }));
  }
}
`;

const root = mkdtempSync(join(tmpdir(), 'jsfunc-serve-pool-'));
let probe: string;
beforeAll(() => {
  probe = writeJsPackage(
    join(root, 'probe'),
    PROBE,
    [{ type: 'double', name: 'x', required: true }],
    [
      { name: 'gate', type: 'string', default: '', shape: null },
      { name: 'summary', type: 'boolean', default: false, shape: null },
    ]
  );
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const servers: ScoringServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function start(options: ServeOptions = {}): Promise<ScoringServer> {
  const server = await serve(probe, {
    port: 0,
    workers: 1,
    warn: () => undefined,
    log: () => undefined,
    loadTimeoutMs: 30_000,
    ...options,
  });
  servers.push(server);
  return server;
}

function invoke(server: ScoringServer, body: unknown, headers: Record<string, string> = {}) {
  return rawRequest(`${server.url}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
  });
}

function json(res: RawResponse): Record<string, unknown> {
  return JSON.parse(res.body.toString('utf8')) as Record<string, unknown>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let gates = 0;
/** A gate for the probe: `path` (a param), `open()` creates the file. */
function gate(): { path: string; open(): void } {
  const path = join(root, `gate-${gates++}`);
  return { path, open: () => writeFileSync(path, '') };
}

/** Waits until the server's counters satisfy `done` (polled; the test timeout bounds it). */
async function until(server: ScoringServer, done: (s: BackendStats) => boolean): Promise<void> {
  while (!done(server.stats())) await sleep(10);
}

describe('serve --workers: micro-batching', () => {
  let server: ScoringServer;
  beforeAll(async () => {
    server = await start({ timeoutMs: 20_000 });
  });

  it('merges requests that queue while the worker is busy into one predict call, each answered with its own rows', async () => {
    const before = server.stats();
    const g = gate();
    const busy = invoke(server, { inputs: { x: [1] }, params: { gate: g.path } });
    await until(server, (s) => s.tasks - before.tasks === 1);
    const queued = Array.from({ length: 6 }, (_, k) =>
      invoke(server, { inputs: { x: [10 * (k + 1), 10 * (k + 1) + 1] } })
    );
    // Other params: never merged with the rest (params apply to a whole predict call).
    const otherParams = invoke(server, { inputs: { x: [5] }, params: { gate: `${g.path}-none` } });
    // Everything is queued behind the busy worker; then the model returns.
    await until(server, (s) => s.requests - before.requests === 8);
    writeFileSync(`${g.path}-none`, '');
    g.open();
    const answers = await Promise.all(queued);
    answers.forEach((res, k) => {
      expect(res.status).toBe(200);
      const x = 10 * (k + 1);
      expect(json(res)).toEqual({
        predictions: [
          { y: 2 * x, batch: 12 },
          { y: 2 * x + 2, batch: 12 },
        ],
      });
    });
    expect(json(await busy)).toEqual({ predictions: [{ y: 2, batch: 1 }] });
    expect(json(await otherParams)).toEqual({ predictions: [{ y: 10, batch: 1 }] });
    const after = server.stats();
    expect(after.mode).toBe('pool');
    expect(after.requests - before.requests).toBe(8);
    expect(after.mergedCalls - before.mergedCalls).toBe(1);
    expect(after.maxRequestsPerCall).toBe(6);
    // 8 requests, 3 predict calls: the busy one, the 6 merged ones, the other params; 2 pool
    // tasks (the busy one, then one batch of 7 requests scored in 2 calls).
    expect(after.predictCalls - before.predictCalls).toBe(3);
    expect(after.tasks - before.tasks).toBe(2);
  });

  it('a bad request in a batch fails alone: bad body, schema mismatch, model error', async () => {
    const before = server.stats();
    const g = gate();
    const busy = invoke(server, { inputs: { x: [1] }, params: { gate: g.path } });
    await until(server, (s) => s.tasks - before.tasks === 1);
    const all = Promise.all([
      invoke(server, { inputs: { x: [1, 2] } }),
      invoke(server, 'this is,,,, not valid json'),
      invoke(server, { inputs: { x: ['abc'] } }),
      invoke(server, { inputs: { y: [1] } }),
      invoke(server, { inputs: { x: [13] } }),
      invoke(server, { dataframe_records: [{ x: 3 }] }),
    ]);
    await until(server, (s) => s.requests - before.requests === 7);
    g.open();
    const [good1, notJson, wrongType, missing, thrower, good2] = await all;
    expect((await busy).status).toBe(200);
    // The six were one pool task (one batch): the bad ones failed inside it, alone.
    expect(server.stats().tasks - before.tasks).toBe(2);
    expect(good1!.status).toBe(200);
    expect((json(good1!)['predictions'] as { y: number }[]).map((r) => r.y)).toEqual([2, 4]);
    expect(good2!.status).toBe(200);
    expect((json(good2!)['predictions'] as { y: number }[]).map((r) => r.y)).toEqual([6]);
    expect(notJson!.status).toBe(400);
    expect(json(notJson!)['message']).toContain('Ensure that input is a valid JSON');
    expect(wrongType!.status).toBe(400);
    expect(json(wrongType!)['message']).toContain('Failed to convert column x');
    expect(missing!.status).toBe(400);
    expect(json(missing!)).toMatchObject({ error_code: 'INVALID_PARAMETER_VALUE' });
    expect(json(missing!)['message']).toContain('Failed to enforce schema of data');
    expect(thrower!.status).toBe(400);
    expect(json(thrower!)).toMatchObject({
      error_code: 'BAD_REQUEST',
      jsfunc_code: 'E_MODEL_PREDICT',
    });
  });

  it('an output that is not one entry per row is predicted again per request', async () => {
    const before = server.stats();
    const g = gate();
    const busy = invoke(server, { inputs: { x: [1] }, params: { gate: g.path } });
    await until(server, (s) => s.tasks - before.tasks === 1);
    const all = Promise.all(
      [[1], [1, 2], [1, 2, 3]].map((x) =>
        invoke(server, { inputs: { x }, params: { summary: true } })
      )
    );
    await until(server, (s) => s.requests - before.requests === 4);
    g.open();
    const answers = await all;
    expect(answers.map((r) => json(r))).toEqual([
      { predictions: 1 },
      { predictions: 2 },
      { predictions: 3 },
    ]);
    expect((await busy).status).toBe(200);
    // The busy call, the merged call whose scalar could not be split, then one call each.
    expect(server.stats().predictCalls - before.predictCalls).toBe(5);
    expect(server.stats().tasks - before.tasks).toBe(2);
  });

  it('a request that kills its worker fails alone; the others of its batch are scored again', async () => {
    const before = server.stats();
    const g = gate();
    const busy = invoke(server, { inputs: { x: [1] }, params: { gate: g.path } });
    await until(server, (s) => s.tasks - before.tasks === 1);
    const all = Promise.all([
      invoke(server, { inputs: { x: [4] } }),
      invoke(server, { inputs: { x: [99] } }),
      invoke(server, { inputs: { x: [6] } }),
    ]);
    await until(server, (s) => s.requests - before.requests === 4);
    g.open();
    const [a, killer, b] = await all;
    expect((await busy).status).toBe(200);
    // One batch of three crashed the worker; each was then run alone (three more tasks).
    expect(server.stats().tasks - before.tasks).toBe(5);
    expect(killer!.status).toBe(500);
    expect(json(killer!)).toMatchObject({ jsfunc_code: 'E_WORKER_CRASHED' });
    expect((json(a!)['predictions'] as { y: number }[])[0]!.y).toBe(8);
    expect((json(b!)['predictions'] as { y: number }[])[0]!.y).toBe(12);
  });
});

describe('serve --workers: maxBatchRows', () => {
  it('no predict call gets more than maxBatchRows rows; a larger request is scored alone', async () => {
    const server = await start({ timeoutMs: 20_000, maxBatchRows: 2 });
    const g = gate();
    const busy = invoke(server, { inputs: { x: [1] }, params: { gate: g.path } });
    await until(server, (s) => s.tasks === 1);
    const all = Promise.all([
      ...[1, 2, 3, 4].map((x) => invoke(server, { inputs: { x: [x] } })),
      invoke(server, { inputs: { x: [5, 6, 7] } }),
    ]);
    await until(server, (s) => s.requests === 6);
    g.open();
    const answers = (await all).map(
      (r) => json(r)['predictions'] as { y: number; batch: number }[]
    );
    expect((await busy).status).toBe(200);
    expect(answers.map((p) => p.map((r) => r.y))).toEqual([[2], [4], [6], [8], [10, 12, 14]]);
    const sizes = answers.map((p) => p[0]!.batch);
    expect(sizes.slice(0, 4).every((n) => n <= 2)).toBe(true);
    expect(sizes.slice(0, 4)).toContain(2);
    expect(sizes[4]).toBe(3);
  });
});

describe('serve --workers: the event loop stays free', () => {
  it('/ping and /health answer while a synchronous model spins on the pool', async () => {
    const server = await start({ timeoutMs: 20_000 });
    const g = gate();
    const spinning = invoke(server, { inputs: { x: [1] }, params: { gate: g.path } });
    await until(server, (s) => s.tasks === 1);
    let settled = false;
    void spinning.then(() => (settled = true));
    // The model spins until the gate opens, which happens only after these answers: /ping and
    // /health cannot have waited for it (the benchmark measures their p99 under load).
    const ping = await rawRequest(`${server.url}/ping`);
    const health = await rawRequest(`${server.url}/health`);
    expect(settled).toBe(false);
    expect(ping.status).toBe(200);
    expect(ping.body.toString()).toBe('\n');
    expect(health.status).toBe(200);
    g.open();
    expect((await spinning).status).toBe(200);
  });

  it('answers 504 on time while a synchronous model runs, and cancels the runaway batch', async () => {
    const server = await start({ timeoutMs: 1500 });
    // A gate that never opens: the model never returns, so the 504 cannot have waited for it.
    const res = await invoke(server, { inputs: { x: [1] }, params: { gate: join(root, 'never') } });
    expect(res.status).toBe(504);
    expect(res.body.toString()).toBe('Request processing time exceeded limit');
    // The runaway batch was cancelled: its (only) worker was terminated and replaced, the model
    // loaded again there, so the next request is scored; on a worker still spinning it never
    // would be.
    const next = await invoke(server, { inputs: { x: [2] } });
    expect(next.status).toBe(200);
    expect(json(next)).toEqual({ predictions: [{ y: 4, batch: 1 }] });
  });
});

describe('serve: bound on buffered request bodies', () => {
  it('answers 503 with Retry-After beyond maxBufferedBytes, without reading the body', async () => {
    const server = await start({ timeoutMs: 20_000, maxBufferedBytes: 4000 });
    const padded = (bytes: number, body: Record<string, unknown>) => {
      const base = JSON.stringify({ ...body, pad: '' });
      return JSON.stringify({ ...body, pad: 'p'.repeat(bytes - base.length) });
    };
    const g = gate();
    const held = invoke(server, padded(2500, { inputs: { x: [1] }, params: { gate: g.path } }));
    await until(server, (s) => s.tasks === 1);
    const refused = await invoke(server, padded(2000, { inputs: { x: [2] } }));
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(json(refused)).toMatchObject({ error_code: 'TEMPORARILY_UNAVAILABLE' });
    expect(json(refused)['message']).toContain('maxBufferedBytes');
    // What still fits is taken meanwhile (and scored once the worker is free).
    const small = invoke(server, padded(1000, { inputs: { x: [3] } }));
    await until(server, (s) => s.requests === 2);
    // A body larger than the whole bound can never fit: 413.
    const huge = await invoke(server, padded(5000, { inputs: { x: [4] } }));
    expect(huge.status).toBe(413);
    g.open();
    expect((await held).status).toBe(200);
    expect((await small).status).toBe(200);
    const retried = await invoke(server, padded(2000, { inputs: { x: [2] } }));
    expect(retried.status).toBe(200);
  });
});

describe.each([0, 1])('serve (workers %i): Arrow IPC bodies both ways', (workers) => {
  let server: ScoringServer;
  beforeAll(async () => {
    server = await start({ workers, timeoutMs: 20_000 });
  });
  const arrowType = 'application/vnd.apache.arrow.stream';

  it('Arrow in, Arrow out', async () => {
    const body = tableToIPC(tableFromArrays({ x: Float64Array.from([1, 2, 3]) }), 'stream');
    const res = await invoke(server, body, {
      'content-type': arrowType,
      accept: arrowType,
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe(arrowType);
    const table = tableFromIPC(res.body);
    expect(table.schema.fields.map((f) => f.name)).toEqual(['y', 'batch']);
    expect(Array.from(table.getChild('y')!.toArray() as Float64Array)).toEqual([2, 4, 6]);
  });

  it('JSON in, Arrow out; Arrow in, JSON out', async () => {
    const arrowOut = await invoke(server, { inputs: { x: [5] } }, { accept: arrowType });
    expect(arrowOut.headers['content-type']).toBe(arrowType);
    expect(tableFromIPC(arrowOut.body).getChild('y')!.get(0)).toBe(10);
    const body = tableToIPC(tableFromArrays({ x: Float64Array.from([7]) }), 'stream');
    const jsonOut = await invoke(server, body, { 'content-type': arrowType });
    expect(jsonOut.headers['content-type']).toBe('application/json');
    expect(json(jsonOut)).toEqual({ predictions: [{ y: 14, batch: 1 }] });
  });

  it('an Arrow body of the wrong type or broken bytes is a 400', async () => {
    const ints = tableToIPC(tableFromArrays({ x: ['a'] }), 'stream');
    const wrong = await invoke(server, ints, { 'content-type': arrowType });
    expect(wrong.status).toBe(400);
    expect(json(wrong)['message']).toContain('Failed to enforce schema of data');
    const broken = await invoke(server, 'not arrow', { 'content-type': arrowType });
    expect(broken.status).toBe(400);
    expect(json(broken)['message']).toContain('Failed to parse input as an Arrow IPC stream');
  });
});

describe('serve --workers: options and start-up', () => {
  const bad: [Partial<ServeOptions>, string][] = [
    [{ workers: -1 }, 'options.workers'],
    [{ workers: 1.5 }, 'options.workers'],
    [{ maxBatchRows: 0 }, 'options.maxBatchRows'],
    [{ maxWaitUs: -1 }, 'options.maxWaitUs'],
    [{ maxBufferedBytes: 0 }, 'options.maxBufferedBytes'],
  ];
  it.each(bad)('rejects %o before loading', async (options, name) => {
    const err: unknown = await serve(join(root, 'missing'), options).catch((e: unknown) => e);
    expect(ModelError.is(err) && err.code).toBe('E_OPTION_INVALID');
    expect((err as Error).message).toContain(name);
  });

  it('fails to start with the load error of the workers', async () => {
    const broken = writeJsPackage(
      join(root, 'broken'),
      "throw new Error('cannot import me');\nexport default class X {}\n",
      [{ type: 'double', name: 'x', required: true }]
    );
    const err: unknown = await serve(broken, { port: 0, workers: 1, warn: () => undefined }).catch(
      (e: unknown) => e
    );
    expect(ModelError.is(err) && err.code).toBe('E_MODEL_IMPORT');
  });
});
