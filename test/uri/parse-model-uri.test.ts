import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ModelError } from '../../src/errors.js';
import { immutableRef, parseModelUri } from '../../src/uri/parse-model-uri.js';
import { resolveTrackingUri } from '../../src/uri/tracking-uri.js';

function codeOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (ModelError.is(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a ModelError');
}

describe('parseModelUri', () => {
  it('reads local paths and file: URIs', () => {
    expect(parseModelUri('out/model', '/work')).toEqual({
      kind: 'local',
      path: resolve('/work', 'out/model'),
    });
    expect(parseModelUri('/abs/model')).toEqual({ kind: 'local', path: resolve('/abs/model') });
    const abs = resolve('/tmp/a b/model');
    expect(parseModelUri(pathToFileURL(abs).href)).toEqual({ kind: 'local', path: abs });
    expect(parseModelUri('file:rel/model', '/work')).toEqual({
      kind: 'local',
      path: join('/work', 'rel/model'),
    });
    // A one-letter "scheme" is a Windows drive letter.
    expect(parseModelUri('C:\\models\\m').kind).toBe('local');
    // An existing directory whose name looks like a scheme is a path.
    const tmp = mkdtempSync(join(tmpdir(), 'jsfunc-uri-colon-'));
    try {
      mkdirSync(join(tmp, 'v1:final'));
      expect(parseModelUri('v1:final', tmp)).toEqual({
        kind: 'local',
        path: join(tmp, 'v1:final'),
      });
      expect(() => parseModelUri('v2:final', tmp)).toThrow("'v2:' scheme is not supported");
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("reads runs:/ URIs as MLflow's parse_runs_uri", () => {
    expect(parseModelUri('runs:/abc123/model')).toEqual({
      kind: 'run',
      runId: 'abc123',
      artifactPath: 'model',
    });
    expect(parseModelUri('runs:/abc123/nested/model/')).toEqual({
      kind: 'run',
      runId: 'abc123',
      artifactPath: 'nested/model',
    });
    expect(parseModelUri('runs:/abc123')).toEqual({
      kind: 'run',
      runId: 'abc123',
      artifactPath: '',
    });
    for (const bad of ['runs:/', 'runs:', 'runs://profile/abc/model', 'runs:abc/model']) {
      const { code, message } = codeOf(() => parseModelUri(bad));
      expect(code).toBe('E_OPTION_INVALID');
      expect(message).toContain(bad);
      expect(message).toContain('runs:/<run_id>/run-relative/path/to/artifact');
    }
  });

  it("reads every models:/ form as MLflow's _parse_model_uri", () => {
    expect(parseModelUri('models:/fraud/3')).toEqual({
      kind: 'model-version',
      name: 'fraud',
      version: '3',
    });
    expect(parseModelUri('models:/fraud/007')).toEqual({
      kind: 'model-version',
      name: 'fraud',
      version: '7',
    });
    expect(parseModelUri('models:/fraud/latest')).toEqual({
      kind: 'model-latest',
      name: 'fraud',
      stage: null,
    });
    expect(parseModelUri('models:/fraud/LATEST')).toEqual({
      kind: 'model-latest',
      name: 'fraud',
      stage: null,
    });
    expect(parseModelUri('models:/fraud/production')).toEqual({
      kind: 'model-latest',
      name: 'fraud',
      stage: 'Production',
    });
    expect(parseModelUri('models:/fraud@champion')).toEqual({
      kind: 'model-alias',
      name: 'fraud',
      alias: 'champion',
    });
    // The alias is split at the last '@', as rsplit('@', 1).
    expect(parseModelUri('models:/a@b@c')).toEqual({
      kind: 'model-alias',
      name: 'a@b',
      alias: 'c',
    });
    expect(parseModelUri('models:/m-0123abcd')).toEqual({
      kind: 'logged-model',
      modelId: 'm-0123abcd',
    });
    // Two segments take precedence over '@' (a name may contain '@').
    expect(parseModelUri('models:/a@b/1')).toEqual({
      kind: 'model-version',
      name: 'a@b',
      version: '1',
    });
  });

  it('rejects malformed models:/ URIs with MLflow wording', () => {
    for (const bad of [
      'models:/',
      'models:/a/b/c',
      'models:/ /1',
      'models:/fraud/',
      'models:/fraud@',
      'models:/@alias',
      'models://profile/fraud/1',
    ]) {
      const { code, message } = codeOf(() => parseModelUri(bad));
      expect(code).toBe('E_OPTION_INVALID');
      expect(message).toContain(`Cannot resolve ${bad}`);
    }
    expect(codeOf(() => parseModelUri('models:/a/b/c')).message).toContain(
      "Models URIs must be of the form 'models:/model_name/suffix' or 'models:/model_name@alias'"
    );
    expect(codeOf(() => parseModelUri('models:/fraud/qa')).message).toContain(
      'Invalid Model Version stage: qa. Value must be one of None, Staging, Production, Archived'
    );
  });

  it('rejects schemes it cannot load from, naming the scheme', () => {
    const { code, message } = codeOf(() => parseModelUri('s3://bucket/model'));
    expect(code).toBe('E_OPTION_INVALID');
    expect(message).toContain("'s3:' scheme is not supported");
    expect(codeOf(() => parseModelUri('')).code).toBe('E_OPTION_INVALID');
  });

  it('names immutable references canonically (the cache identity)', () => {
    expect(immutableRef({ kind: 'run', runId: 'r', artifactPath: 'a/b' })).toBe('runs:/r/a/b');
    expect(immutableRef({ kind: 'model-version', name: 'n', version: '2' })).toBe('models:/n/2');
    expect(immutableRef({ kind: 'logged-model', modelId: 'm-1' })).toBe('models:/m-1');
  });
});

describe('resolveTrackingUri', () => {
  it('defaults to MLFLOW_TRACKING_URI, then ./mlruns', () => {
    expect(resolveTrackingUri(undefined, {}, '/work')).toEqual({
      kind: 'file',
      root: join('/work', 'mlruns'),
      uri: 'mlruns',
    });
    expect(resolveTrackingUri(undefined, { MLFLOW_TRACKING_URI: 'http://h:5000/' }, '/w')).toEqual({
      kind: 'rest',
      base: 'http://h:5000',
      uri: 'http://h:5000/',
    });
    expect(resolveTrackingUri('file:///tmp/store', { MLFLOW_TRACKING_URI: 'http://x' })).toEqual({
      kind: 'file',
      root: resolve('/tmp/store'),
      uri: 'file:///tmp/store',
    });
    expect(resolveTrackingUri('https://h/prefix/', {}).kind).toBe('rest');
    expect(resolveTrackingUri('https://h/prefix/', {})).toMatchObject({ base: 'https://h/prefix' });
  });

  it('rejects database stores and credentials in the URL', () => {
    expect(codeOf(() => resolveTrackingUri('sqlite:///mlflow.db', {})).message).toContain(
      "'sqlite:' tracking URI scheme is not supported"
    );
    const withCreds = codeOf(() => resolveTrackingUri('http://u:secret@h:5000', {}));
    expect(withCreds.code).toBe('E_OPTION_INVALID');
    expect(withCreds.message).not.toContain('secret');
    expect(withCreds.message).toContain('MLFLOW_TRACKING_USERNAME');
  });
});
