/**
 * The registry and artifacts a test tracking server answers from (`mlflow-test-server.ts`):
 * artifacts laid out as `mlflow server --serve-artifacts` stores them under its artifact root
 * (`<exp_id>/<run_id>/artifacts/...`, `<exp_id>/models/<model_id>/artifacts/...`), and the
 * `mlflow-artifacts:/` URIs the server hands out for them.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writePackage } from './mlflow-file-store-fixture.js';
import type { ServerState } from './mlflow-test-server.js';

/** Ids of the REST fixture. */
export const REST_IDS = {
  runA: 'aa11bb22cc33dd44ee55ff6600778899',
  runB: 'bb22cc33dd44ee55ff6600778899aa11',
  runC: 'cc33dd44ee55ff6600778899aa11bb22',
  runEmpty: 'dd44ee55ff6600778899aa11bb22cc33',
  loggedModelId: 'm-ee55ff6600778899aa11bb22cc33dd44',
} as const;

/**
 * Writes the artifacts under `artifactRoot` and returns the server state.
 *
 * @param artifactRoot - the server's artifact root
 * @returns the state
 */
export async function buildServerState(artifactRoot: string): Promise<ServerState> {
  const { runA, runB, runC, runEmpty, loggedModelId } = REST_IDS;
  await writePackage(join(artifactRoot, '0', runA, 'artifacts', 'model'), 'run-a');
  await writePackage(join(artifactRoot, '1', runB, 'artifacts', 'model'), 'run-b');
  await writePackage(join(artifactRoot, '1', 'models', loggedModelId, 'artifacts'), 'logged');
  await mkdir(join(artifactRoot, '1', runC, 'artifacts'), { recursive: true });
  await mkdir(join(artifactRoot, '0', runEmpty, 'artifacts', 'model'), { recursive: true });
  await writeFile(
    join(artifactRoot, '0', runEmpty, 'artifacts', 'model', 'notes.txt'),
    'no MLmodel'
  );
  const art = (path: string): string => `mlflow-artifacts:/${path}`;
  return {
    artifactRoot,
    runs: {
      [runA]: { experimentId: '0', artifactUri: art(`0/${runA}/artifacts`) },
      [runB]: { experimentId: '1', artifactUri: art(`1/${runB}/artifacts`) },
      [runC]: { experimentId: '1', artifactUri: art(`1/${runC}/artifacts`) },
      [runEmpty]: { experimentId: '0', artifactUri: art(`0/${runEmpty}/artifacts`) },
    },
    versions: [
      {
        name: 'fraud',
        version: 1,
        stage: 'None',
        source: art(`0/${runA}/artifacts/model`),
        runId: runA,
        downloadUri: art(`0/${runA}/artifacts/model`),
      },
      {
        name: 'fraud',
        version: 2,
        stage: 'Production',
        source: art(`1/${runB}/artifacts/model`),
        runId: runB,
        downloadUri: art(`1/${runB}/artifacts/model`),
      },
      {
        name: 'fraud',
        version: 3,
        stage: 'Staging',
        source: `models:/${loggedModelId}`,
        runId: runC,
        downloadUri: art(`1/models/${loggedModelId}/artifacts`),
      },
      {
        name: 'fraud',
        version: 4,
        stage: 'None',
        source: art(`0/${runA}/artifacts/model`),
        runId: runA,
        downloadUri: art(`0/${runA}/artifacts/model`),
        deleted: true,
      },
      {
        name: 'in-s3',
        version: 1,
        stage: 'None',
        source: 's3://bucket/0/abc/artifacts/model',
        runId: runA,
        downloadUri: 's3://bucket/0/abc/artifacts/model',
      },
      {
        name: 'no-mlmodel',
        version: 1,
        stage: 'None',
        source: art(`0/${runEmpty}/artifacts/model`),
        runId: runEmpty,
        downloadUri: art(`0/${runEmpty}/artifacts/model`),
      },
    ],
    aliases: { fraud: { champion: 2, challenger: 3 } },
    loggedModels: {
      [loggedModelId]: {
        experimentId: '1',
        name: 'lm',
        artifactUri: art(`1/models/${loggedModelId}/artifacts`),
        sourceRunId: runC,
      },
    },
  };
}
