import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { getModelInfo } from '../../src/package/model-info.js';
import { cli, packageExample, repoRoot, tempDir } from './helpers.js';

const mlflowModels = join(repoRoot, 'test/fixtures/package/mlflow-models');
let dir: string;
let cleanup: () => Promise<void>;
let sentiment: string;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  sentiment = await packageExample('sentiment', dir);
});
afterAll(() => cleanup());

/** The lines of a section ("inputs:", "params:") up to the next blank or unindented line. */
function section(text: string, title: string): string[] {
  const lines = text.split('\n');
  const start = lines.indexOf(`${title}:`);
  expect(start, `section ${title}`).toBeGreaterThanOrEqual(0);
  const out: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (!line.startsWith('  ')) break;
    out.push(line);
  }
  return out;
}

describe('jsfunc info', () => {
  it('shows a jsfunc package: facts, aligned signature tables, params with defaults, example rows', async () => {
    const run = await cli(['info', '-m', sentiment]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const info = await getModelInfo(sentiment);
    expect(run.stdout).toContain(`model uuid: ${info.modelUuid}`);
    expect(run.stdout).toContain(`created:    ${info.utcTimeCreated} UTC`);
    expect(run.stdout).toContain(`(${info.modelSizeBytes} bytes)`);
    expect(run.stdout).toMatch(/^flavors: +js_function \(loadable\)$/m);
    expect(section(run.stdout, 'inputs')).toEqual([
      '  name  type    required',
      '  text  string  yes',
      '  lang  string  no',
    ]);
    expect(section(run.stdout, 'outputs')).toEqual([
      '  name   type    required',
      '  label  string  yes',
      '  score  double  yes',
    ]);
    expect(section(run.stdout, 'params')).toEqual([
      '  name       type     default',
      '  threshold  double   0.5',
      '  lowercase  boolean  true',
    ]);
    const example = section(run.stdout, 'input example (input_example.json)');
    expect(example[0]).toMatch(/^ {2}text +lang$/);
    expect(example[1]).toMatch(/^ {2}I love this, it is great +en$/);
  });

  it('--json prints getModelInfo and --rows limits the example', async () => {
    const run = await cli(['info', '-m', sentiment, '--json']);
    expect(JSON.parse(run.stdout)).toEqual(
      JSON.parse(JSON.stringify(await getModelInfo(sentiment)))
    );
    const one = await cli(['info', '-m', sentiment, '--rows', '1']);
    expect(section(one.stdout, 'input example (input_example.json)')).toHaveLength(3);
    expect(one.stdout).toContain('… 1 more rows');
  });

  it('reads MLflow-written packages (not loadable, still described)', async () => {
    const lc = await cli(['info', '-m', join(mlflowModels, 'langchain_2.12')]);
    expect(lc.code).toBe(0);
    expect(lc.stdout).toMatch(/^flavors: +langchain, python_function$/m);
    expect(lc.stdout).toMatch(/^loadable: +no/m);
    expect(lc.stdout).toMatch(/^mlflow: +2\.12\.2$/m);
    expect(section(lc.stdout, 'inputs')).toEqual([
      '  name      type                                          required',
      '  messages  array<object<content: string, role: string>>  yes',
    ]);
    expect(lc.stdout).toContain(
      '{"messages":[{"role":"user","content":"What is Retrieval-augmented Generation?"}]}'
    );
    const tensor = await cli(['info', '-m', join(mlflowModels, 'pyfunc_tensor_output_2.7.1')]);
    expect(section(tensor.stdout, 'outputs')).toEqual([
      '  name               dtype    shape',
      '  test_model_output  float64  (-1,)',
    ]);
    const old = await cli(['info', '-m', join(mlflowModels, 'example_mlflow_1x_sklearn_model')]);
    expect(old.stdout).toMatch(/^signature: \(none\)$/m);
    expect(old.stdout).toMatch(/^size: +\(not recorded\)$/m);
  });

  it('a directory without MLmodel fails with E_MLMODEL_MISSING', async () => {
    const run = await cli(['info', '-m', dir]);
    expect(run.code).toBe(ErrorCodes.E_MLMODEL_MISSING.exitCode);
    expect(run.stderr).toMatch(/^jsfunc: E_MLMODEL_MISSING: .*MLmodel/);
  });
});
