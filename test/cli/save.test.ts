import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { normalizeSignature } from '../../src/cli/commands/save.js';
import { loadModel } from '../../src/package/load-model.js';
import { getModelInfo } from '../../src/package/model-info.js';
import { cli, listDir, repoRoot, tempDir } from './helpers.js';

const fixtures = join(repoRoot, 'test/fixtures/cli');
let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterAll(() => cleanup());

async function predictX(path: string, xs: number[], options = {}): Promise<number[]> {
  const model = await loadModel(path, { warn: () => {}, ...options });
  return Array.from((await model.predict(xs.map((x) => ({ x })))) as ArrayLike<number>);
}

describe('jsfunc save', () => {
  it('packages udf/linear from its spec module, loadable with the spec signature', async () => {
    const out = join(dir, 'linear');
    const run = await cli(['save', '-s', join(repoRoot, 'udf/linear/spec.mjs'), '-o', out]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^saved model to ${out} \\(uuid [0-9a-f]{32}, `));
    const info = await getModelInfo(out);
    const spec = (await import(join(repoRoot, 'udf/linear/spec.mjs'))) as { features: string[] };
    expect(info.signature?.inputs?.map((c) => c.name)).toEqual(spec.features);
    expect(info.metadata).toEqual({ example: 'linear', task: 'regression' });
  });

  it('packages from a JSON spec with paths relative to the spec file, and flags override it', async () => {
    const out = join(dir, 'from-json');
    const run = await cli(['save', '--spec', join(fixtures, 'spec.json'), '-o', out]);
    expect(run.code, run.stderr).toBe(0);
    expect(await predictX(out, [1, -2])).toEqual([6, -12]);
    const info = await getModelInfo(out);
    expect(info.metadata).toEqual({ source: 'spec.json' });
    expect(info.inputExample).toEqual({ columns: ['x'], data: [[1.5], [2]] });

    const over = join(dir, 'from-json-over');
    const r2 = await cli([
      'save',
      '-s',
      join(fixtures, 'spec.json'),
      '-o',
      over,
      '--config',
      '{"extra": 10}',
      '--predict-fn',
      'predictNegated',
    ]);
    expect(r2.code, r2.stderr).toBe(0);
    expect(await predictX(over, [1])).toEqual([-30]);
  });

  it('packages from flags: --model, --artifact, --signature, --config, --metadata', async () => {
    const out = join(dir, 'flags');
    const run = await cli([
      'save',
      '--model',
      join(fixtures, 'scale-model.mjs'),
      '--artifact',
      `factor=${join(fixtures, 'factor.json')}`,
      '--signature',
      join(fixtures, 'signature.json'),
      '--config',
      '{"extra": 1}',
      '--metadata',
      '{"owner": "cli-test"}',
      '-o',
      out,
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(await predictX(out, [2, 4])).toEqual([6, 12]);
    const info = await getModelInfo(out);
    expect(info.signature).toEqual({
      inputs: [{ kind: 'column', name: 'x', type: { type: 'double' }, required: true }],
      outputs: [{ kind: 'column', type: { type: 'double' }, required: true }],
      params: null,
    });
    expect(info.metadata).toEqual({ owner: 'cli-test' });
  });

  it('--force replaces a model package but never another non-empty directory', async () => {
    const out = join(dir, 'force');
    const args = ['save', '-s', join(fixtures, 'spec.json'), '-o', out];
    expect((await cli(args)).code).toBe(0);
    const first = (await getModelInfo(out)).modelUuid;
    const again = await cli(args);
    expect(again.code).toBe(ErrorCodes.E_TARGET_NOT_EMPTY.exitCode);
    expect(again.stderr).toMatch(/^jsfunc: E_TARGET_NOT_EMPTY: /);
    expect((await cli([...args, '--force'])).code).toBe(0);
    expect((await getModelInfo(out)).modelUuid).not.toBe(first);

    const other = join(dir, 'user-data');
    await mkdir(other);
    await writeFile(join(other, 'notes.txt'), 'keep me');
    const refused = await cli(['save', '-s', join(fixtures, 'spec.json'), '-o', other, '--force']);
    expect(refused.code).toBe(ErrorCodes.E_TARGET_NOT_EMPTY.exitCode);
    expect(refused.stderr).toContain('holds no MLmodel file');
    expect(await readFile(join(other, 'notes.txt'), 'utf8')).toBe('keep me');
  });

  it('rejects bad invocations with their own messages', async () => {
    const both = await cli(['save', '-s', 'a.json', '--model', 'm.mjs', '-o', join(dir, 'x')]);
    expect(both).toMatchObject({ code: 2 });
    expect(both.stderr.split('\n')[0]).toBe('jsfunc: give --spec or --model, not both');
    const none = await cli(['save', '-o', join(dir, 'x')]);
    expect(none.code).toBe(2);
    const ext = await cli(['save', '-s', join(fixtures, 'factor.yaml'), '-o', join(dir, 'x')]);
    expect(ext.code).toBe(ErrorCodes.E_FORMAT_UNSUPPORTED.exitCode);
    const art = await cli([
      'save',
      '--model',
      join(fixtures, 'scale-model.mjs'),
      '--artifact',
      'factor',
      '-o',
      join(dir, 'x'),
    ]);
    expect(art.code).toBe(ErrorCodes.E_OPTION_INVALID.exitCode);
    expect(art.stderr).toBe(
      'jsfunc: E_OPTION_INVALID: --artifact must be name=value, found "factor"\n'
    );
    const missingSpec = await cli([
      'save',
      '-s',
      join(fixtures, 'nope.json'),
      '-o',
      join(dir, 'x'),
    ]);
    expect(missingSpec.code).toBe(ErrorCodes.E_FILE_NOT_FOUND.exitCode);
    expect(await listDir(dir)).not.toContain('x');
  });
});

describe('normalizeSignature', () => {
  it('accepts MLflow strings, MLflow arrays and jsfunc objects alike', () => {
    const fromStrings = normalizeSignature(
      { inputs: '[{"type": "long", "name": "id"}]', outputs: null },
      't'
    );
    const fromArrays = normalizeSignature({ inputs: [{ type: 'long', name: 'id' }] }, 't');
    const own = normalizeSignature(
      { inputs: [{ kind: 'column', name: 'id', type: { type: 'long' }, required: true }] },
      't'
    );
    expect(fromStrings).toEqual(fromArrays);
    expect(own).toEqual(fromArrays);
    expect(() => normalizeSignature({ inputs: [{ type: 'nope', name: 'id' }] }, 't')).toThrow(
      /nope/
    );
    expect(normalizeSignature(null, 't')).toBeNull();
  });
});
