import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelError } from '../../src/errors.js';
import { logModel } from '../../src/uri/log-model.js';
import { parseMlflowYaml } from '../../src/uri/mlflow-yaml.js';
import { registerModel } from '../../src/uri/register-model.js';
import { resolveModelUri } from '../../src/uri/resolve-model-uri.js';
import { buildFileStore, mlmodelText, writePackage } from './mlflow-file-store-fixture.js';

let dir: string;
let pkg: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jsfunc-uri-log-'));
  pkg = await writePackage(join(dir, 'pkg'), 'local-pkg');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function meta(path: string): Promise<Record<string, unknown>> {
  return parseMlflowYaml(await readFile(join(path, 'meta.yaml'), 'utf8')) as Record<
    string,
    unknown
  >;
}

/** The keys of a meta.yaml in file order: MLflow writes them sorted. */
async function keys(path: string): Promise<string[]> {
  const text = await readFile(join(path, 'meta.yaml'), 'utf8');
  return [...text.matchAll(/^([a-z_]+):/gm)].map((m) => m[1]!);
}

async function failure(p: Promise<unknown>): Promise<ModelError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x
  );
  if (!ModelError.is(e)) throw new Error(`expected a ModelError, got ${String(e)}`);
  return e;
}

describe('logModel + registerModel (MLflow file store)', () => {
  it('creates the store, the Default experiment, and a finished run holding the package', async () => {
    const root = join(dir, 'fresh', 'mlruns');
    const before = Date.now();
    const { runId, modelUri, experimentId, artifactUri } = await logModel(pkg, {
      trackingUri: root,
      runName: 'first-run',
      env: {},
    });
    expect(runId).toMatch(/^[0-9a-f]{32}$/);
    expect(modelUri).toBe(`runs:/${runId}/model`);
    expect(experimentId).toBe('0');
    const rootUri = pathToFileURL(root).href;
    expect(artifactUri).toBe(`${rootUri}/0/${runId}/artifacts/model`);

    // Experiment 0, as FileStore._create_default_experiment writes it.
    expect(await readFile(join(root, '0', 'meta.yaml'), 'utf8')).toMatch(
      new RegExp(
        `^artifact_location: ${rootUri.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/0\n` +
          `creation_time: \\d{13}\nexperiment_id: '0'\nlast_update_time: \\d{13}\n` +
          `lifecycle_stage: active\nname: Default\n$`
      )
    );
    expect((await readdir(root)).sort()).toEqual(['.trash', '0']);

    // The run: RunInfo fields + the legacy ones, status FINISHED (3), no deleted_time.
    const runDir = join(root, '0', runId);
    expect(await keys(runDir)).toEqual([
      'artifact_uri',
      'end_time',
      'entry_point_name',
      'experiment_id',
      'lifecycle_stage',
      'run_id',
      'run_name',
      'run_uuid',
      'source_name',
      'source_type',
      'source_version',
      'start_time',
      'status',
      'tags',
      'user_id',
    ]);
    const run = await meta(runDir);
    expect(run).toMatchObject({
      artifact_uri: `${rootUri}/0/${runId}/artifacts`,
      entry_point_name: '',
      experiment_id: '0',
      lifecycle_stage: 'active',
      run_id: runId,
      run_name: 'first-run',
      run_uuid: runId,
      source_type: 4,
      status: 3,
      tags: [],
    });
    expect(run['start_time']).toBeGreaterThanOrEqual(before);
    expect(run['end_time']).toBeGreaterThanOrEqual(run['start_time'] as number);
    expect(await readFile(join(runDir, 'meta.yaml'), 'utf8')).toContain("experiment_id: '0'\n");
    expect((await readdir(runDir)).sort()).toEqual([
      'artifacts',
      'meta.yaml',
      'metrics',
      'params',
      'tags',
    ]);
    expect(await readFile(join(runDir, 'tags', 'mlflow.runName'), 'utf8')).toBe('first-run');

    // The package, with run_id and artifact_path recorded in its MLmodel.
    const copy = join(runDir, 'artifacts', 'model');
    const mlmodel = parseMlflowYaml(await readFile(join(copy, 'MLmodel'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(mlmodel).toEqual({
      ...(parseMlflowYaml(mlmodelText('local-pkg')) as object),
      run_id: runId,
      artifact_path: 'model',
    });
    expect(await readFile(join(copy, 'data', 'nested', 'weights.bin'), 'utf8')).toBe(
      'local-pkg'.repeat(100)
    );
    const history = JSON.parse(
      await readFile(join(runDir, 'tags', 'mlflow.log-model.history'), 'utf8')
    ) as Record<string, unknown>[];
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({
      run_id: runId,
      artifact_path: 'model',
      model_uuid: 'local-pkg',
    });

    // Loadable by its runs:/ URI.
    const resolved = await resolveModelUri(modelUri, { trackingUri: root, env: {} });
    expect(resolved.path).toBe(copy);
  });

  it('registers versions, resolvable as models:/name/1 through the file store', async () => {
    const root = join(dir, 'reg', 'mlruns');
    const logged = await logModel(pkg, { trackingUri: root, experimentName: 'fraud-exp', env: {} });
    expect(logged.experimentId).toMatch(/^[1-9][0-9]{17}$/);
    const again = await logModel(pkg, {
      trackingUri: root,
      experimentName: 'fraud-exp',
      artifactPath: 'nested/model',
      env: {},
    });
    expect(again.experimentId).toBe(logged.experimentId);
    expect(await meta(join(root, logged.experimentId))).toMatchObject({
      experiment_id: logged.experimentId,
      name: 'fraud-exp',
      lifecycle_stage: 'active',
      artifact_location: `${pathToFileURL(root).href}/${logged.experimentId}`,
    });

    const v1 = await registerModel(logged.modelUri, 'fraud', { trackingUri: root, env: {} });
    expect(v1).toEqual({
      name: 'fraud',
      version: '1',
      modelUri: 'models:/fraud/1',
      source: logged.artifactUri,
      runId: logged.runId,
    });
    const v2 = await registerModel(again.modelUri, 'fraud', {
      trackingUri: root,
      env: {},
      tags: { team: 'risk' },
    });
    expect(v2.version).toBe('2');

    // The registry files, as MLflow's model registry FileStore writes them.
    const modelDir = join(root, 'models', 'fraud');
    expect(await keys(modelDir)).toEqual([
      'aliases',
      'creation_timestamp',
      'description',
      'last_updated_timestamp',
      'name',
    ]);
    expect(await meta(modelDir)).toMatchObject({ aliases: {}, description: null, name: 'fraud' });
    const version1 = join(modelDir, 'version-1');
    expect(await keys(version1)).toEqual([
      'creation_timestamp',
      'current_stage',
      'deployment_job_state',
      'description',
      'last_updated_timestamp',
      'model_id',
      'name',
      'run_id',
      'run_link',
      'source',
      'status',
      'status_message',
      'storage_location',
      'user_id',
      'version',
    ]);
    expect(await meta(version1)).toMatchObject({
      current_stage: 'None',
      deployment_job_state: null,
      description: null,
      model_id: null,
      name: 'fraud',
      run_id: logged.runId,
      run_link: null,
      source: logged.artifactUri,
      status: 'READY',
      status_message: null,
      storage_location: logged.artifactUri,
      user_id: null,
      version: 1,
    });
    expect(await readFile(join(modelDir, 'version-2', 'tags', 'team'), 'utf8')).toBe('risk');

    const byVersion = await resolveModelUri('models:/fraud/1', { trackingUri: root, env: {} });
    expect(byVersion).toMatchObject({
      source: 'file-store',
      name: 'fraud',
      version: '1',
      runId: logged.runId,
      path: join(root, logged.experimentId, logged.runId, 'artifacts', 'model'),
    });
    const latest = await resolveModelUri('models:/fraud/latest', { trackingUri: root, env: {} });
    expect(latest.path).toBe(
      join(root, logged.experimentId, again.runId, 'artifacts', 'nested', 'model')
    );
  });

  it('gives concurrent registrations distinct versions', async () => {
    const root = join(dir, 'race', 'mlruns');
    const { modelUri } = await logModel(pkg, { trackingUri: root, env: {} });
    const versions = await Promise.all(
      Array.from({ length: 5 }, () =>
        registerModel(modelUri, 'raced', { trackingUri: root, env: {} })
      )
    );
    expect(versions.map((v) => v.version).sort()).toEqual(['1', '2', '3', '4', '5']);
  });

  it('registers MLflow 3 logged models and other registered versions as MLflow does', async () => {
    const root = join(dir, 'mlflow3', 'mlruns');
    const f = await buildFileStore(root);
    const fromLogged = await registerModel(`models:/${f.loggedModelId}`, 'from-logged', {
      trackingUri: root,
      env: {},
    });
    expect(fromLogged).toMatchObject({ source: `models:/${f.loggedModelId}`, runId: f.runC });
    expect(await meta(join(root, 'models', 'from-logged', 'version-1'))).toMatchObject({
      source: `models:/${f.loggedModelId}`,
      model_id: f.loggedModelId,
      storage_location: `${pathToFileURL(root).href}/${f.experimentId}/models/${f.loggedModelId}/artifacts`,
    });
    const viaRun = await registerModel(`runs:/${f.runC}/lm`, 'via-run', {
      trackingUri: root,
      env: {},
    });
    expect(viaRun.source).toBe(`models:/${f.loggedModelId}`);
    const copy = await registerModel('models:/fraud@champion', 'copy', {
      trackingUri: root,
      env: {},
    });
    expect(copy.source).toBe('models:/fraud@champion');
    expect((await resolveModelUri('models:/copy/1', { trackingUri: root, env: {} })).path).toBe(
      f.packages['run-b']
    );
    // The fixture's next fraud version follows the deleted v4: numbers are never reused.
    expect(
      (await registerModel('models:/fraud/1', 'fraud', { trackingUri: root, env: {} })).version
    ).toBe('5');
    const local = await registerModel(pkg, 'local', { trackingUri: root, env: {} });
    expect(local.source).toBe(pathToFileURL(pkg).href);
  });

  it('rejects what MLflow rejects, with coded errors', async () => {
    const root = join(dir, 'bad', 'mlruns');
    expect((await failure(logModel(dir, { trackingUri: root, env: {} }))).code).toBe(
      'E_MLMODEL_MISSING'
    );
    for (const artifactPath of ['../x', '', 'a//b', 'C:/x']) {
      const e = await failure(logModel(pkg, { trackingUri: root, artifactPath, env: {} }));
      expect(e.code, artifactPath).toBe('E_OPTION_INVALID');
    }
    const both = await failure(
      logModel(pkg, { trackingUri: root, experimentId: '0', experimentName: 'x', env: {} })
    );
    expect(both.code).toBe('E_OPTION_INVALID');
    const unknown = await failure(
      logModel(pkg, { trackingUri: root, experimentId: '42', env: {} })
    );
    expect(unknown.message).toContain('Could not find experiment with ID 42');
    const server = await failure(logModel(pkg, { trackingUri: 'http://127.0.0.1:9', env: {} }));
    expect(server.code).toBe('E_OPTION_INVALID');
    const { modelUri } = await logModel(pkg, { trackingUri: root, env: {} });
    for (const name of ['a/b', 'a%b', '..', '']) {
      const e = await failure(registerModel(modelUri, name, { trackingUri: root, env: {} }));
      expect(e.code, name).toBe('E_OPTION_INVALID');
    }
    const missing = await failure(
      registerModel(`runs:/${'f'.repeat(32)}/model`, 'm', { trackingUri: root, env: {} })
    );
    expect(missing.code).toBe('E_MLMODEL_MISSING');
  });
});
