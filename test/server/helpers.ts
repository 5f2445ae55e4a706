/**
 * Helpers of the scoring-server tests: response bodies as text or JSON, Arrow IPC bodies, a
 * bounded loopback HTTP client for raw requests.
 *
 * @module
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { tableFromIPC, type Table } from 'apache-arrow';
import type { ScoringResponse } from '../../src/server/app.js';

/** A response body as text (Arrow bodies decoded as UTF-8, for messages only). */
export function bodyText(res: Pick<ScoringResponse, 'body'>): string {
  return typeof res.body === 'string' ? res.body : Buffer.from(res.body).toString('utf8');
}

/** A JSON response body, parsed. */
export function bodyOf(res: Pick<ScoringResponse, 'body'>): unknown {
  return JSON.parse(bodyText(res));
}

/** An Arrow IPC response body, read. */
export function arrowOf(res: Pick<ScoringResponse, 'body'>): Table {
  if (typeof res.body === 'string') throw new Error(`expected Arrow bytes, got text ${res.body}`);
  return tableFromIPC(res.body);
}

/** What {@link rawPost} got back. */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** Milliseconds from sending to the end of the response. */
  ms: number;
}

/**
 * Sends one HTTP request to a loopback server with its own connection (no keep-alive pool), and
 * fails after `timeoutMs` instead of hanging the test.
 *
 * @param url - full URL (http://127.0.0.1:port/path)
 * @param options - method, headers, body, timeout (default 20 s)
 * @returns status, headers, body and elapsed ms
 */
export function rawRequest(
  url: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: string | Uint8Array;
    timeoutMs?: number;
  } = {}
): Promise<RawResponse> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: options.method ?? 'GET', headers: options.headers ?? {}, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
            ms: performance.now() - started,
          })
        );
        res.on('error', reject);
      }
    );
    req.setTimeout(options.timeoutMs ?? 20_000, () => {
      req.destroy(new Error(`no answer from ${url} within ${options.timeoutMs ?? 20_000} ms`));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * Writes a `js_function` model package without bundling: `code/model.mjs` = `source` (its
 * default export is the model class) and an MLmodel whose signature holds the given MLflow JSON
 * specs.
 *
 * @param dir - the package directory (created)
 * @param source - the model module's text
 * @param inputs - MLflow JSON input specs (`[{"type": "double", "name": "x", ...}]`)
 * @param params - MLflow JSON param specs; default none
 * @returns `dir`
 */
export function writeJsPackage(
  dir: string,
  source: string,
  inputs: readonly object[],
  params: readonly object[] | null = null
): string {
  mkdirSync(join(dir, 'code'), { recursive: true });
  writeFileSync(join(dir, 'code', 'model.mjs'), source);
  writeFileSync(
    join(dir, 'MLmodel'),
    [
      'flavors:',
      '  js_function:',
      '    loader_module: jsfunc',
      '    code: code',
      '    entry: code/model.mjs',
      '    export_name: default',
      '    predict_fn: predict',
      '    config: {}',
      `    node_version: ${JSON.stringify(process.versions.node)}`,
      'model_uuid: 0123456789abcdef0123456789abcdef',
      'signature:',
      `  inputs: ${JSON.stringify(JSON.stringify(inputs))}`,
      '  outputs: null',
      `  params: ${params === null ? 'null' : JSON.stringify(JSON.stringify(params))}`,
      "utc_time_created: '2024-01-01 00:00:00.000000'",
      '',
    ].join('\n')
  );
  return dir;
}
