/**
 * A loopback stand-in for an MLflow tracking server (`mlflow server`), for the REST tests. It
 * implements the routes jsfunc calls, with the JSON shapes of MLflow's protos as MLflow's
 * `message_to_json` writes them (snake_case fields, int64 as numbers, versions as strings, empty
 * repeated fields left out) and MLflow's error bodies (`{"error_code", "message"}` with the HTTP
 * status of the code: RESOURCE_DOES_NOT_EXIST 404, INVALID_PARAMETER_VALUE 400):
 *
 * - `GET /api/2.0/mlflow/runs/get?run_id=`
 * - `GET /api/2.0/mlflow/model-versions/get?name=&version=`
 * - `GET /api/2.0/mlflow/registered-models/get-latest-versions?name=[&stages=]`
 * - `GET /api/2.0/mlflow/registered-models/alias?name=&alias=`
 * - `GET /api/2.0/mlflow/model-versions/get-download-uri?name=&version=`
 * - `GET /api/2.0/mlflow/logged-models/<model_id>`
 * - `POST /api/2.0/mlflow/logged-models/search`
 * - `GET /api/2.0/mlflow-artifacts/artifacts?path=` (listing) and `.../artifacts/<path>` (file)
 *
 * Authentication as MLflow's basic-auth app answers it: 401 with a plain-text body. Listens on
 * 127.0.0.1, port 0, and records every request.
 */
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A model version as the server knows it. */
export interface ServerVersion {
  name: string;
  version: number;
  stage: string;
  source: string;
  runId: string;
  /** What get-download-uri answers (`mlflow-artifacts:/...`). */
  downloadUri: string;
  deleted?: boolean;
}

/** The registry and runs the server answers from. */
export interface ServerState {
  /** The local directory behind `mlflow-artifacts:/`. */
  artifactRoot: string;
  runs: Record<string, { experimentId: string; artifactUri: string }>;
  versions: ServerVersion[];
  aliases: Record<string, Record<string, number>>;
  loggedModels: Record<
    string,
    { experimentId: string; name: string; artifactUri: string; sourceRunId: string }
  >;
}

/** One recorded request. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  authorization: string | undefined;
}

/** Behaviour switches. */
export interface ServerOptions {
  /** Required `Authorization` header value; anything else answers 401. */
  authorization?: string;
  /** Delay before each artifact file body, in ms. */
  fileDelayMs?: number;
  /** Answer this many requests 503 before serving normally. */
  failFirst?: number;
  /** Answer 500 for artifact files whose path ends with this. */
  brokenFile?: string;
}

/** A running server. */
export interface TestServer {
  readonly url: string;
  readonly requests: RecordedRequest[];
  readonly state: ServerState;
  options: ServerOptions;
  close(): Promise<void>;
}

const T0 = 1_700_000_000_000;

/**
 * Starts the server on 127.0.0.1 (port 0).
 *
 * @param state - what it answers from
 * @param options - authentication, delays, failures
 * @returns the running server
 */
export async function startMlflowTestServer(
  state: ServerState,
  options: ServerOptions = {}
): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) error(res, 500, 'INTERNAL_ERROR', String(e));
      else res.destroy();
    });
  });
  const self: TestServer = {
    url: '',
    requests,
    state,
    options,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      authorization: req.headers.authorization,
    });
    const body = await readBody(req);
    const opts = self.options;
    if (opts.authorization !== undefined && req.headers.authorization !== opts.authorization) {
      res.writeHead(401, {
        'Content-Type': 'text/plain',
        'WWW-Authenticate': 'Basic realm="mlflow"',
      });
      res.end(
        'You are not authenticated. Please see https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow on how to authenticate.'
      );
      return;
    }
    if ((opts.failFirst ?? 0) > 0) {
      opts.failFirst = opts.failFirst! - 1;
      return error(res, 503, 'TEMPORARILY_UNAVAILABLE', 'try again');
    }
    const q = url.searchParams;
    const p = url.pathname;
    if (req.method === 'GET' && p === '/api/2.0/mlflow/runs/get') {
      const runId = q.get('run_id') ?? '';
      const run = state.runs[runId];
      if (run === undefined)
        return error(res, 404, 'RESOURCE_DOES_NOT_EXIST', `Run with id=${runId} not found`);
      return json(res, {
        run: {
          info: {
            run_uuid: runId,
            run_id: runId,
            run_name: 'bold-owl-42',
            experiment_id: run.experimentId,
            user_id: 'tester',
            status: 'FINISHED',
            start_time: T0,
            end_time: T0 + 1000,
            artifact_uri: run.artifactUri,
            lifecycle_stage: 'active',
          },
          data: { tags: [{ key: 'mlflow.runName', value: 'bold-owl-42' }] },
          inputs: {},
        },
      });
    }
    if (req.method === 'GET' && p === '/api/2.0/mlflow/model-versions/get') {
      const mv = findVersion(q.get('name'), q.get('version'));
      if (mv === undefined) return versionNotFound(res, q);
      return json(res, { model_version: versionJson(mv) });
    }
    if (req.method === 'GET' && p === '/api/2.0/mlflow/model-versions/get-download-uri') {
      const mv = findVersion(q.get('name'), q.get('version'));
      if (mv === undefined) return versionNotFound(res, q);
      return json(res, { artifact_uri: mv.downloadUri });
    }
    if (req.method === 'GET' && p === '/api/2.0/mlflow/registered-models/get-latest-versions') {
      const name = q.get('name') ?? '';
      if (!state.versions.some((v) => v.name === name)) {
        return error(
          res,
          404,
          'RESOURCE_DOES_NOT_EXIST',
          `Registered Model with name=${name} not found`
        );
      }
      const stages = q.getAll('stages');
      const wanted = stages.length > 0 ? stages : ['None', 'Staging', 'Production', 'Archived'];
      const latest = new Map<string, ServerVersion>();
      for (const v of state.versions) {
        if (v.name !== name || v.deleted || !wanted.includes(v.stage)) continue;
        if ((latest.get(v.stage)?.version ?? -1) < v.version) latest.set(v.stage, v);
      }
      const list = [...latest.values()].map(versionJson);
      return json(res, list.length === 0 ? {} : { model_versions: list });
    }
    if (req.method === 'GET' && p === '/api/2.0/mlflow/registered-models/alias') {
      const name = q.get('name') ?? '';
      const alias = q.get('alias') ?? '';
      const version = state.aliases[name]?.[alias];
      if (version === undefined) {
        return error(
          res,
          400,
          'INVALID_PARAMETER_VALUE',
          `Registered model alias ${alias} not found.`
        );
      }
      const mv = findVersion(name, String(version))!;
      return json(res, { model_version: { ...versionJson(mv), aliases: [alias] } });
    }
    const logged = /^\/api\/2\.0\/mlflow\/logged-models\/([^/]+)$/.exec(p);
    if (req.method === 'GET' && logged !== null && logged[1] !== 'search') {
      const id = decodeURIComponent(logged[1]!);
      const m = state.loggedModels[id];
      if (m === undefined)
        return error(
          res,
          404,
          'RESOURCE_DOES_NOT_EXIST',
          `Logged model with ID '${id}' not found.`
        );
      return json(res, { model: loggedJson(id, m) });
    }
    if (req.method === 'POST' && p === '/api/2.0/mlflow/logged-models/search') {
      const request = JSON.parse(body) as { experiment_ids?: string[]; filter?: string };
      const name = /^name = '(.*)'$/.exec(request.filter ?? '')?.[1];
      const models = Object.entries(state.loggedModels)
        .filter(
          ([, m]) =>
            request.experiment_ids?.includes(m.experimentId) &&
            (name === undefined || m.name === name)
        )
        .map(([id, m]) => loggedJson(id, m));
      return json(res, models.length === 0 ? {} : { models });
    }
    if (req.method === 'GET' && p === '/api/2.0/mlflow-artifacts/artifacts') {
      return listArtifacts(res, q.get('path') ?? '');
    }
    if (req.method === 'GET' && p.startsWith('/api/2.0/mlflow-artifacts/artifacts/')) {
      const rel = decodeURIComponent(p.slice('/api/2.0/mlflow-artifacts/artifacts/'.length));
      return sendArtifact(res, rel);
    }
    return error(res, 404, 'ENDPOINT_NOT_FOUND', `No API endpoint ${req.method} ${p}`);
  }

  function findVersion(name: string | null, version: string | null): ServerVersion | undefined {
    return state.versions.find(
      (v) => v.name === name && String(v.version) === version && !v.deleted
    );
  }

  function versionNotFound(res: ServerResponse, q: URLSearchParams): void {
    error(
      res,
      404,
      'RESOURCE_DOES_NOT_EXIST',
      `Model Version (name=${q.get('name')}, version=${q.get('version')}) not found`
    );
  }

  async function listArtifacts(res: ServerResponse, path: string): Promise<void> {
    if (!safe(path)) return error(res, 400, 'INVALID_PARAMETER_VALUE', `Invalid path: ${path}`);
    const dir = join(state.artifactRoot, path);
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    const files = [];
    for (const e of entries) {
      if (e.isDirectory()) files.push({ path: e.name, is_dir: true });
      else
        files.push({
          path: e.name,
          is_dir: false,
          file_size: (await stat(join(dir, e.name))).size,
        });
    }
    return json(res, files.length === 0 ? {} : { files });
  }

  async function sendArtifact(res: ServerResponse, rel: string): Promise<void> {
    if (!safe(rel)) return error(res, 400, 'INVALID_PARAMETER_VALUE', `Invalid path: ${rel}`);
    const file = join(state.artifactRoot, rel);
    const st = await stat(file).catch(() => undefined);
    if (!st?.isFile()) return error(res, 404, 'RESOURCE_DOES_NOT_EXIST', `File ${rel} not found`);
    if (self.options.brokenFile !== undefined && rel.endsWith(self.options.brokenFile)) {
      return error(res, 500, 'INTERNAL_ERROR', 'disk on fire');
    }
    if (self.options.fileDelayMs) await sleep(self.options.fileDelayMs);
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': st.size });
    createReadStream(file).pipe(res);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  (self as { url: string }).url = `http://127.0.0.1:${port}`;
  return self;
}

function versionJson(v: ServerVersion): Record<string, unknown> {
  return {
    name: v.name,
    version: String(v.version),
    creation_timestamp: T0 + v.version,
    last_updated_timestamp: T0 + v.version,
    current_stage: v.stage,
    description: '',
    source: v.source,
    run_id: v.runId,
    status: 'READY',
    run_link: '',
  };
}

function loggedJson(
  id: string,
  m: { experimentId: string; name: string; artifactUri: string; sourceRunId: string }
): Record<string, unknown> {
  return {
    info: {
      model_id: id,
      experiment_id: m.experimentId,
      name: m.name,
      artifact_uri: m.artifactUri,
      creation_timestamp_ms: T0,
      last_updated_timestamp_ms: T0,
      status: 'LOGGED_MODEL_READY',
      source_run_id: m.sourceRunId,
    },
    data: {},
  };
}

function safe(path: string): boolean {
  return !path.split('/').some((s) => s === '..') && !path.startsWith('/') && !path.includes('\\');
}

function json(res: ServerResponse, body: unknown): void {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

function error(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ error_code: code, message }));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
