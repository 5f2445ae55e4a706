// Issue 8: a fuzz property for the scoring app (no sockets). Whatever the method, path,
// headers and body, `handle` answers, in bounded time, with a status and a body; every
// /invocations answer that is not a success is MLflow's JSON error body with an `error_code`
// (415 content-type answers are plain text, as MLflow's; a 504 carries MLflow's timeout text),
// and no error body carries a stack trace or a file path (issue 8, item 12).
// Issue 10: the same property for the pool backend (`serve --workers`), whose requests are
// parsed, checked and scored in a worker thread, and with Arrow IPC bodies and `Accept`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/package/load-model.js';
import { createScoringApp, type ScoringApp, type ScoringRequest } from '../../src/server/app.js';
import type { ScoringBackend } from '../../src/server/backend.js';
import { createPoolBackend } from '../../src/server/pool-backend.js';
import { writeModel } from '../pool/helpers.js';
import { arrowOf, bodyOf, bodyText } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'jsfunc-server-fuzz-'));
const apps: Record<'main thread' | 'pool', ScoringApp> = {} as Record<
  'main thread' | 'pool',
  ScoringApp
>;
let poolBackend: ScoringBackend | undefined;
const logged: string[] = [];

/** Scores x * 2, and throws for x = 13 (a model error) to exercise that path too. */
const MODEL = `
export default class Fuzzed {
  predict(context, input, params) {
    const xs = input.getChild('x').toArray();
    if (xs.some((x) => x === 13)) throw new RangeError('unlucky input');
    const k = Number(params.k ?? 2);
    return Float64Array.from(xs, (x) => x * k);
  }
}
`;

beforeAll(async () => {
  const dir = writeModel(join(root, 'fuzzed'), MODEL, [
    { name: 'x', type: 'double' },
    { name: 's', type: 'string' },
  ]);
  const model = await loadModel(dir, { warn: () => undefined });
  const options = { warn: () => undefined, log: (t: string) => logged.push(t), timeoutMs: 5_000 };
  apps['main thread'] = createScoringApp(model, options);
  poolBackend = await createPoolBackend(dir, {
    workers: 1,
    maxBatchRows: 1024,
    maxWaitUs: 0,
    timeoutMs: 5_000,
    loadTimeoutMs: 30_000,
    warn: () => undefined,
  });
  apps.pool = createScoringApp(poolBackend, options);
});
afterAll(async () => {
  await poolBackend?.close();
  rmSync(root, { recursive: true, force: true });
});

/** Arrow IPC stream bodies: well-formed ones with x / s columns, and broken bytes. */
const arrowBody = fc.oneof(
  fc
    .array(fc.oneof(fc.double(), fc.constant(13)), { maxLength: 5 })
    .map((xs) =>
      Buffer.from(
        tableToIPC(
          tableFromArrays({ x: Float64Array.from(xs), s: xs.map((x) => String(x)) }),
          'stream'
        )
      )
    ),
  fc
    .array(fc.integer(), { maxLength: 4 })
    .map((ns) => Buffer.from(tableToIPC(tableFromArrays({ n: Int32Array.from(ns) }), 'stream'))),
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b))
);

const value = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.string(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(13),
  fc.jsonValue({ maxDepth: 3 })
);
const column = fc.array(value, { maxLength: 6 });
const columnsObject = fc.dictionary(
  fc.oneof(fc.constantFrom('x', 's', 'y', '0', '__proto__', 'constructor'), fc.string()),
  column,
  { maxKeys: 4 }
);
/** Bodies shaped like MLflow requests, with random parts. */
const mlflowBody = fc.oneof(
  fc.record({ inputs: fc.oneof(columnsObject, column, fc.array(columnsObject, { maxLength: 3 })) }),
  fc.record({
    dataframe_split: fc.record(
      {
        columns: fc.array(fc.constantFrom('x', 's', 'z', 1), { maxLength: 3 }),
        data: fc.array(fc.array(value, { maxLength: 3 }), { maxLength: 4 }),
        index: fc.array(fc.integer(), { maxLength: 3 }),
      },
      { requiredKeys: [] }
    ),
  }),
  fc.record({
    dataframe_records: fc.oneof(
      fc.array(fc.dictionary(fc.constantFrom('x', 's', 'q'), value), { maxLength: 4 }),
      fc.array(fc.array(value, { maxLength: 3 }), { maxLength: 3 }),
      value
    ),
  }),
  fc.record({ instances: fc.oneof(column, fc.array(columnsObject, { maxLength: 3 })) }),
  fc.record(
    {
      inputs: columnsObject,
      params: fc.oneof(fc.dictionary(fc.constantFrom('k', 'other'), value), value),
      instances: column,
    },
    { requiredKeys: ['inputs'] }
  ),
  fc.record({ messages: column, prompt: value })
);
const body = fc.oneof(
  mlflowBody.map((b) => JSON.stringify(b)),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.string(),
  fc
    .array(fc.array(fc.oneof(fc.string(), fc.double().map(String)), { maxLength: 4 }), {
      maxLength: 5,
    })
    .map((rows) => rows.map((r) => r.join(',')).join('\n')),
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
  fc.constant('x,s\n1,a\n13,b\n'),
  fc.constant('{"inputs": {"x": [1, 2], "s": ["a", "b"]}}'),
  arrowBody
);
const contentType = fc.oneof(
  fc.constantFrom(
    'application/json',
    'text/csv',
    'application/json; charset=utf-8',
    'TEXT/CSV; charset=UTF-8',
    'text/csv; charset=latin-1',
    'application/json; format=pandas-split',
    'application/vnd.apache.arrow.stream',
    'text/plain',
    ''
  ),
  fc.string(),
  fc.constant(undefined)
);
// Weighted so that most requests reach parsing and a good share reach the model.
const request = fc.record({
  method: fc.oneof(
    { arbitrary: fc.constant('POST'), weight: 6 },
    { arbitrary: fc.constantFrom('GET', 'HEAD', 'PUT', 'post'), weight: 1 },
    { arbitrary: fc.string(), weight: 1 }
  ),
  url: fc.oneof(
    { arbitrary: fc.constant('/invocations'), weight: 6 },
    {
      arbitrary: fc.constantFrom(
        '/invocations?x=1',
        'http://host/invocations',
        '/ping',
        '/health',
        '/version',
        '/nope',
        '//invocations'
      ),
      weight: 1,
    },
    { arbitrary: fc.string(), weight: 1 }
  ),
  contentType: fc.oneof(
    {
      arbitrary: fc.constantFrom(
        'application/json',
        'text/csv',
        'application/vnd.apache.arrow.stream'
      ),
      weight: 6,
    },
    { arbitrary: contentType, weight: 2 }
  ),
  accept: fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 4 },
    {
      arbitrary: fc.constantFrom(
        'application/vnd.apache.arrow.stream',
        'application/json, application/vnd.apache.arrow.stream;q=0.5',
        '*/*'
      ),
      weight: 1,
    },
    { arbitrary: fc.string(), weight: 1 }
  ),
  body,
});

/** Fails instead of waiting forever when an answer never comes (the property includes "no hang"). */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

describe.each(['main thread', 'pool'] as const)(
  'createScoringApp (%s) under fuzzed requests',
  (mode) => {
    it('always answers: a status, a body, JSON errors with error_code, no stack traces', async () => {
      const app = apps[mode];
      const statuses = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(request, async (r) => {
          const headers: Record<string, string> = {};
          if (r.contentType !== undefined) headers['content-type'] = r.contentType;
          if (r.accept !== undefined) headers['accept'] = r.accept;
          const req: ScoringRequest = { method: r.method, url: r.url, headers, body: r.body };
          const res = await within(app.handle(req), 10_000);
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          expect(Number.isInteger(res.status)).toBe(true);
          expect(res.status).toBeGreaterThanOrEqual(200);
          expect(res.status).toBeLessThan(600);
          expect(typeof res.headers['content-type']).toBe('string');
          const isInvocation =
            res.status !== 404 && res.status !== 405 && /invocations/.test(r.url);
          if (!isInvocation || res.status === 200) {
            if (res.status === 200 && isInvocation) {
              if (res.headers['content-type'] === 'application/vnd.apache.arrow.stream') {
                expect(() => arrowOf(res)).not.toThrow();
              } else {
                expect(() => bodyOf(res)).not.toThrow();
              }
            } else {
              expect(typeof res.body).toBe('string');
            }
            return;
          }
          expect(typeof res.body).toBe('string');
          if (res.status === 415 || res.status === 504) {
            expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
            return;
          }
          expect(res.headers['content-type']).toBe('application/json');
          const error = bodyOf(res) as Record<string, unknown>;
          expect(typeof error['error_code']).toBe('string');
          expect(typeof error['message']).toBe('string');
          expect(error['stack_trace']).toBeUndefined();
          expect(bodyText(res)).not.toMatch(/file:\/\/|node_modules/);
        }),
        // JSFUNC_FUZZ_RUNS=100000 for a deeper search.
        { numRuns: Number(process.env['JSFUNC_FUZZ_RUNS'] ?? (mode === 'pool' ? 500 : 1000)) }
      );
      // The runs reached the model (200) and its input checks (400), not only the routing.
      expect(statuses.get(200) ?? 0).toBeGreaterThan(0);
      expect(statuses.get(400) ?? 0).toBeGreaterThan(0);
    });

    it('a model error is logged with its stack and answered without it', async () => {
      logged.length = 0;
      const res = await apps[mode].handle({
        method: 'POST',
        url: '/invocations',
        headers: { 'content-type': 'text/csv' },
        body: 'x,s\n1,a\n13,b\n',
      });
      expect(res.status).toBe(400);
      expect(bodyOf(res)).toMatchObject({ error_code: 'BAD_REQUEST' });
      expect(bodyText(res)).not.toContain('unlucky');
      expect(logged).toHaveLength(1);
      expect(logged[0]).toContain('RangeError: unlucky input');
    });
  }
);
