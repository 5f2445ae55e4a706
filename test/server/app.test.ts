import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  acceptFormat,
  createScoringApp,
  type ScoringApp,
  type ScoringRequest,
  type ScoringResponse,
} from '../../src/server/app.js';
import { ModelError } from '../../src/errors.js';
import { jsfuncVersion } from '../../src/package/environment.js';
import { loadModel } from '../../src/package/load-model.js';
import { saveModel } from '../../src/package/save-model.js';
import type { LoadedModel } from '../../src/package/types.js';
import type { ModelSignature } from '../../src/signature/types.js';
import { bodyOf, bodyText } from './helpers.js';

const MODEL = fileURLToPath(new URL('../fixtures/server/mode-model.ts', import.meta.url));

const signature: ModelSignature = {
  inputs: [{ kind: 'column', name: 'x', type: { type: 'double' }, required: true }],
  outputs: [{ kind: 'column', type: { type: 'double' }, required: true }],
  params: [
    { name: 'factor', type: { type: 'double' }, default: 2, shape: null },
    { name: 'mode', type: { type: 'string' }, default: 'scale', shape: null },
  ],
};

const root = mkdtempSync(join(tmpdir(), 'jsfunc-server-'));
let model: LoadedModel;
let app: ScoringApp;
/** The same model with `debugErrors`: stack traces in error bodies. */
let debugApp: ScoringApp;
const warnings: string[] = [];
const serverLog: string[] = [];

beforeAll(async () => {
  const dir = join(root, 'mode');
  await saveModel(dir, { model: MODEL, signature });
  model = await loadModel(dir, { warn: (m) => warnings.push(m) });
  app = createScoringApp(model, { warn: (m) => warnings.push(m), log: (t) => serverLog.push(t) });
  debugApp = createScoringApp(model, {
    warn: () => undefined,
    log: () => undefined,
    debugErrors: true,
  });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** `contentType` null sends no Content-Type header. */
function post(
  body: string | Buffer,
  contentType: string | null = 'application/json',
  to: ScoringApp = app
) {
  const req: ScoringRequest = {
    method: 'POST',
    url: '/invocations',
    headers: contentType === null ? {} : { 'Content-Type': contentType },
    body,
  };
  return to.handle(req);
}

function bodyJson(res: ScoringResponse): Record<string, unknown> {
  expect(res.headers['content-type']).toBe('application/json');
  return bodyOf(res) as Record<string, unknown>;
}

describe('health and version routes', () => {
  it.each(['/ping', '/health'])('GET %s answers 200 with a newline', async (url) => {
    const res = await app.handle({ method: 'GET', url, headers: {} });
    expect(res).toEqual({
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: '\n',
    });
  });

  it('HEAD /ping answers 200 without a body', async () => {
    const res = await app.handle({ method: 'HEAD', url: '/ping?probe=1', headers: {} });
    expect(res.status).toBe(200);
    expect(res.body).toBe('');
  });

  it('GET /version answers the jsfunc version, or the configured one', async () => {
    const res = await app.handle({ method: 'GET', url: '/version', headers: {} });
    expect(res.status).toBe(200);
    expect(res.body).toBe(jsfuncVersion());
    const custom = createScoringApp(model, { version: '9.9.9' });
    expect((await custom.handle({ method: 'GET', url: '/version', headers: {} })).body).toBe(
      '9.9.9'
    );
  });

  it('unknown routes answer 404, wrong methods 405 with Allow', async () => {
    const missing = await app.handle({ method: 'GET', url: '/predict', headers: {} });
    expect(missing.status).toBe(404);
    expect(bodyJson(missing)).toEqual({ detail: 'Not Found' });
    const wrong = await app.handle({ method: 'GET', url: '/invocations', headers: {} });
    expect(wrong.status).toBe(405);
    expect(wrong.headers['allow']).toBe('POST');
    expect(bodyJson(wrong)).toEqual({ detail: 'Method Not Allowed' });
    const wrongPing = await app.handle({ method: 'POST', url: '/ping', headers: {} });
    expect(wrongPing.status).toBe(405);
    expect(wrongPing.headers['allow']).toBe('GET, HEAD');
  });
});

describe('POST /invocations: request forms', () => {
  const forms: [string, unknown][] = [
    ['dataframe_split', { dataframe_split: { columns: ['x'], data: [[1], [2.5]] } }],
    ['dataframe_records', { dataframe_records: [{ x: 1 }, { x: 2.5 }] }],
    ['instances', { instances: [{ x: 1 }, { x: 2.5 }] }],
    ['inputs (columns)', { inputs: { x: [1, 2.5] } }],
    ['inputs (single-column list)', { inputs: [1, 2.5] }],
  ];
  it.each(forms)('%s scores to {"predictions": [...]}', async (_name, body) => {
    const res = await post(JSON.stringify(body));
    expect(res.status).toBe(200);
    expect(bodyJson(res)).toEqual({ predictions: [2, 5] });
  });

  it('passes sibling params to the model, validated against the params schema', async () => {
    const res = await post(JSON.stringify({ inputs: { x: [1, 2] }, params: { factor: 10 } }));
    expect(bodyJson(res)).toEqual({ predictions: [10, 20] });
  });

  it('ignores an unknown param with a warning, as MLflow (200)', async () => {
    warnings.length = 0;
    const res = await post(JSON.stringify({ inputs: { x: [1] }, params: { nope: 1 } }));
    expect(res.status).toBe(200);
    expect(bodyJson(res)).toEqual({ predictions: [2] });
    expect(warnings.join('\n')).toContain('nope');
  });

  it('writes row-object output as records', async () => {
    const res = await post(JSON.stringify({ inputs: { x: [1, 2] }, params: { mode: 'rows' } }));
    expect(bodyJson(res)).toEqual({
      predictions: [
        { y: 2, tag: 'r' },
        { y: 4, tag: 'r' },
      ],
    });
  });

  it('accepts a Buffer body and `; charset=UTF-8`', async () => {
    const body = Buffer.from(JSON.stringify({ dataframe_records: [{ x: 3 }] }));
    const res = await post(body, 'application/json; charset=UTF-8');
    expect(res.status).toBe(200);
    expect(bodyJson(res)).toEqual({ predictions: [6] });
  });

  it('scores CSV, typed by the signature; CSV carries no params', async () => {
    const res = await post('x\n1\n4\n', 'text/csv');
    expect(res.status).toBe(200);
    expect(bodyJson(res)).toEqual({ predictions: [2, 8] });
    const withCharset = await post('x\n1.5\n', 'text/csv; charset=utf-8');
    expect(bodyJson(withCharset)).toEqual({ predictions: [3] });
  });

  it('an LLM unified body: params-schema keys are params, the rest one row; unwrapped output', async () => {
    const res = await post(JSON.stringify({ input: 'hello', x: 4, factor: 3, mode: 'count' }));
    expect(res.status).toBe(200);
    // Not wrapped in {"predictions": ...}; `input` is data, dropped by enforcement (not in the
    // signature), `factor` and `mode` went to params.
    expect(bodyJson(res)).toEqual({ rows: 1, columns: ['x'] });
    const scaled = await post(JSON.stringify({ prompt: 'p', x: 4, factor: 3 }));
    expect(bodyJson(scaled)).toEqual([12]);
  });
});

describe('POST /invocations: content types (415, text/plain)', () => {
  const cases: [string | null, string][] = [
    ['application/json; charset=latin-1', 'The scoring server only supports UTF-8'],
    [
      'application/json; format=pandas-split',
      "Unrecognized content type parameters: format. Only 'charset' is read: the request's form comes from its body. Accepted shapes:",
    ],
    [
      'text/plain',
      "This predictor only supports the following content types: Types: ['text/csv', 'application/json', 'application/vnd.apache.arrow.stream']. Got 'text/plain'.",
    ],
    [
      null,
      "This predictor only supports the following content types: Types: ['text/csv', 'application/json', 'application/vnd.apache.arrow.stream']. Got ''.",
    ],
  ];
  it.each(cases)('%s -> 415', async (contentType, message) => {
    const res = await post('{"inputs": [1]}', contentType);
    expect(res.status).toBe(415);
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(bodyText(res).startsWith(message)).toBe(true);
  });

  it('checks the charset before the mime type, as MLflow', async () => {
    const res = await post('x', 'text/html; charset=utf-16');
    expect(res.body).toBe('The scoring server only supports UTF-8');
  });
});

describe('POST /invocations: error bodies', () => {
  async function error(res: Promise<ScoringResponse>, status: number) {
    const r = await res;
    expect(r.status).toBe(status);
    const body = bodyJson(r);
    expect(
      Object.keys(body).every((k) =>
        ['error_code', 'message', 'stack_trace', 'jsfunc_code'].includes(k)
      )
    ).toBe(true);
    return body;
  }

  it('malformed JSON -> 400 BAD_REQUEST', async () => {
    const body = await error(post('this is,,,, not valid json'), 400);
    expect(body['error_code']).toBe('BAD_REQUEST');
    expect(body['jsfunc_code']).toBe('E_INPUT_INVALID');
    expect(body['message']).toContain('Ensure that input is a valid JSON formatted string');
  });

  it.each([
    ['1'],
    ['"1"'],
    ['[1]'],
    ['{"not": "a dataframe"}'],
    ['{"dataframe_records": [], "dataframe_split": {"data": []}}'],
  ])('body %s -> 400 BAD_REQUEST "exactly one of the input fields"', async (text) => {
    const body = await error(post(text), 400);
    expect(body['error_code']).toBe('BAD_REQUEST');
    expect(body['message']).toContain(
      'The input must be a JSON dictionary with exactly one of the input fields'
    );
  });

  it('split/records shape errors carry MLflow messages', async () => {
    const split = await error(post(JSON.stringify({ dataframe_split: [{ x: 1 }] })), 400);
    expect(split['message']).toContain('Dataframe split format must be a dictionary. Got list');
    const records = await error(
      post(JSON.stringify({ dataframe_records: { columns: ['x'], data: [[1]] } })),
      400
    );
    expect(records['message']).toContain(
      'Dataframe records format must be a list of records. Got dictionary.'
    );
  });

  it('a body that is not UTF-8 -> 400', async () => {
    const body = await error(post(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), 400);
    expect(body['jsfunc_code']).toBe('E_INPUT_INVALID');
    expect(body['message']).toContain('not valid UTF-8');
  });

  it('empty or malformed CSV -> 400 BAD_REQUEST; stack_trace only with debugErrors', async () => {
    const empty = await error(post('', 'text/csv'), 400);
    expect(empty['error_code']).toBe('BAD_REQUEST');
    expect(empty['message']).toContain('Failed to parse input as a Pandas DataFrame');
    expect(empty['stack_trace']).toBeUndefined();
    const bad = await error(post('x\nnot-a-number\n', 'text/csv'), 400);
    expect(bad['message']).toContain('Failed to parse input as a Pandas DataFrame');
    expect(bad['stack_trace']).toBeUndefined();
    const debug = await error(post('x\nnot-a-number\n', 'text/csv', debugApp), 400);
    expect(typeof debug['stack_trace']).toBe('string');
  });

  it('a schema mismatch -> 400 INVALID_PARAMETER_VALUE "Failed to predict data"', async () => {
    const body = await error(post(JSON.stringify({ inputs: { y: [1] } })), 400);
    expect(body['error_code']).toBe('INVALID_PARAMETER_VALUE');
    expect(body['jsfunc_code']).toBe('E_SCHEMA_MISMATCH');
    expect(body['message']).toMatch(
      /^Failed to predict data '<1 rows x 1 columns: y>'\. \nError: /
    );
    expect(body['stack_trace']).toBeUndefined();
  });

  it('an invalid param value -> 400 INVALID_PARAMETER_VALUE', async () => {
    const body = await error(
      post(JSON.stringify({ inputs: { x: [1] }, params: { factor: 'invalid_value1' } })),
      400
    );
    expect(body['error_code']).toBe('INVALID_PARAMETER_VALUE');
    expect(body['jsfunc_code']).toBe('E_PARAMS_INVALID');
    expect(body['message']).toContain('factor');
  });

  it('an error thrown by the model -> 400 BAD_REQUEST, generic message; the stack goes to the log', async () => {
    serverLog.length = 0;
    const request = JSON.stringify({ inputs: { x: [1] }, params: { mode: 'throw' } });
    const body = await error(post(request), 400);
    expect(body['error_code']).toBe('BAD_REQUEST');
    expect(body['jsfunc_code']).toBe('E_MODEL_PREDICT');
    expect(body['message']).toBe(
      'Encountered an unexpected error while evaluating the model. Verify that the serialized ' +
        'input Dataframe is compatible with the model for inference.'
    );
    // Issue 8 item 12: no stack trace, no install path in the body by default.
    expect(body['stack_trace']).toBeUndefined();
    expect(JSON.stringify(body)).not.toMatch(/file:\/\/|\/node_modules\/|\bat \S+ \(/);
    expect(serverLog).toHaveLength(1);
    expect(serverLog[0]).toMatch(/^jsfunc serve: POST \/invocations -> 400 E_MODEL_PREDICT: /);
    expect(serverLog[0]).toContain('boom from the model');
    const debug = await error(post(request, 'application/json', debugApp), 400);
    expect(debug['stack_trace']).toContain('boom from the model');
  });

  it('output that cannot be written as JSON -> 500 INTERNAL_ERROR', async () => {
    const body = await error(
      post(JSON.stringify({ inputs: { x: [1] }, params: { mode: 'circular' } })),
      500
    );
    expect(body['error_code']).toBe('INTERNAL_ERROR');
    expect(body['jsfunc_code']).toBe('E_MODEL_OUTPUT');
  });
});

describe('request timeout', () => {
  it('answers 504 with MLflow text when predict does not settle in time', async () => {
    const quick = createScoringApp(model, { timeoutMs: 20, warn: () => undefined });
    const res = await quick.handle({
      method: 'POST',
      url: '/invocations',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: { x: [1] }, params: { mode: 'hang' } }),
    });
    expect(res.status).toBe(504);
    expect(res.body).toBe('Request processing time exceeded limit');
    // The same app keeps serving afterwards.
    const ok = await quick.handle({ method: 'GET', url: '/ping', headers: {} });
    expect(ok.status).toBe(200);
  });

  it('times out each waiting request at its own deadline, while others are answered', async () => {
    const quick = createScoringApp(model, { timeoutMs: 60, warn: () => undefined });
    const hang = () =>
      quick.handle({
        method: 'POST',
        url: '/invocations',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: { x: [1] }, params: { mode: 'hang' } }),
      });
    const first = hang();
    await new Promise((r) => setTimeout(r, 30));
    const second = hang();
    // Answered in between: its deadline leaves the queue, the others stay.
    const ping = await quick.handle({ method: 'GET', url: '/ping', headers: {} });
    expect(ping.status).toBe(200);
    const [a, b] = await Promise.all([first, second]);
    expect([a.status, b.status]).toEqual([504, 504]);
    // After going idle the app times out again.
    expect((await hang()).status).toBe(504);
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY, '5'])(
    'rejects options.timeoutMs = %s',
    (timeoutMs) => {
      let caught: unknown;
      try {
        createScoringApp(model, { timeoutMs: timeoutMs as number });
      } catch (e) {
        caught = e;
      }
      expect(ModelError.is(caught) && caught.code).toBe('E_OPTION_INVALID');
      expect((caught as Error).message).toContain('options.timeoutMs');
    }
  );
});

describe('Accept: the response format', () => {
  it.each([
    [undefined, 'json'],
    ['application/json', 'json'],
    ['application/vnd.apache.arrow.stream', 'arrow'],
    ['application/vnd.apache.arrow.stream, */*', 'arrow'],
    ['application/json, application/vnd.apache.arrow.stream;q=0.5', 'json'],
    ['application/vnd.apache.arrow.stream;q=0', 'json'],
    ['text/html', 'json'],
  ] as const)('%s -> %s', (accept, format) => {
    expect(acceptFormat(accept)).toBe(format);
  });
});
