import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LineCounter, parseDocument } from 'yaml';
import { ModelError } from '../../src/errors.js';
import { parseMLmodel, readMLmodel, serializeMLmodel } from '../../src/package/mlmodel.js';
import { MLFLOW_MODELS, tempDirs } from '../fixtures/package/paths.js';

const tmp = tempDirs();
afterAll(() => tmp.cleanup());

function expectCode(fn: () => unknown, code: string, text?: RegExp): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(ModelError.is(thrown)).toBe(true);
  expect((thrown as ModelError).code).toBe(code);
  if (text) expect((thrown as ModelError).message).toMatch(text);
}

describe('readMLmodel on MLflow-written files', () => {
  it('reads the 2.12 langchain model: flavors, signature, uuid, time, example info, unknown keys', async () => {
    const meta = await readMLmodel(join(MLFLOW_MODELS, 'langchain_2.12'));
    expect(Object.keys(meta.flavors).sort()).toEqual(['langchain', 'python_function']);
    expect(meta.flavors['python_function']?.['loader_module']).toBe('mlflow.langchain');
    expect(meta.modelUuid).toBe('bbdda59aafe84e11b2fc25a95e46aee1');
    expect(meta.utcTimeCreated).toBe('2024-05-17 23:15:28.764394');
    expect(meta.mlflowVersion).toBe('2.12.2');
    expect(meta.modelSizeBytes).toBe(6875);
    expect(meta.savedInputExampleInfo).toEqual({
      artifact_path: 'input_example.json',
      type: 'json_object',
    });
    const input = meta.signature?.inputs?.[0];
    expect(input).toMatchObject({
      kind: 'column',
      name: 'messages',
      required: true,
      type: { type: 'array' },
    });
    expect(meta.signature?.outputs).toEqual([
      { kind: 'column', type: { type: 'string' }, required: true },
    ]);
    expect(meta.signature?.params).toBeNull();
    // Unknown keys are kept, with their YAML 1.1 string typing.
    expect(meta.raw['databricks_runtime']).toBe('14.3');
    expect(meta.raw['run_id']).toBe('84552a129bfb45faa87f5fb3f05eb9cf');
    expect(meta.raw['resources']).toMatchObject({ api_version: '1' });
  });

  it('reads the 1.x sklearn model: env is a plain string, no signature', async () => {
    const meta = await readMLmodel(
      join(MLFLOW_MODELS, 'example_mlflow_1x_sklearn_model', 'MLmodel')
    );
    expect(meta.flavors['python_function']?.['env']).toBe('conda.yaml');
    expect(meta.flavors['python_function']?.['python_version']).toBe('3.10.19');
    expect(meta.signature).toBeNull();
    expect(meta.savedInputExampleInfo).toBeNull();
    expect(meta.mlflowVersion).toBe('1.30.1');
    expect(meta.utcTimeCreated).toBe('2024-10-29 07:39:02.032550');
  });

  it('reads the 2.8.1 pyfunc model and the 2.7.1 tensor-output model', async () => {
    const a = await readMLmodel(join(MLFLOW_MODELS, 'pyfunc_2.8.1'));
    expect(a.modelSizeBytes).toBe(737);
    expect(a.flavors['python_function']?.['env']).toEqual({
      conda: 'conda.yaml',
      virtualenv: 'python_env.yaml',
    });
    const b = await readMLmodel(join(MLFLOW_MODELS, 'pyfunc_tensor_output_2.7.1'));
    expect(b.modelUuid).toBe('test-model-uuid');
    // Old JSON without "required": defaults to true.
    expect(b.signature?.inputs).toEqual([
      { kind: 'column', name: 'test_model_input', type: { type: 'double' }, required: true },
    ]);
    expect(b.signature?.outputs).toEqual([
      { kind: 'tensor', name: 'test_model_output', dtype: 'float64', shape: [-1] },
    ]);
  });

  it('survives read -> write -> read with every key, foreign flavor and signature intact', async () => {
    for (const name of [
      'langchain_2.12',
      'example_mlflow_1x_sklearn_model',
      'pyfunc_2.8.1',
      'pyfunc_tensor_output_2.7.1',
    ]) {
      const meta = await readMLmodel(join(MLFLOW_MODELS, name));
      const again = parseMLmodel(serializeMLmodel(meta), `${name} (rewritten)`);
      expect(again.raw).toEqual(meta.raw);
      expect(again.signature).toEqual(meta.signature);
    }
  });
});

describe('serializeMLmodel', () => {
  const meta = parseMLmodel(
    [
      'zeta: 1',
      'flavors:',
      '  js_function: {loader_module: jsfunc, list: [a, b]}',
      "utc_time_created: '2024-05-17 23:15:28.764394'",
      'model_uuid: 0123456789abcdef0123456789abcdef',
      'metadata: {flag: "yes", version: "1.10", when: "2024-01-02"}',
      '',
    ].join('\n'),
    'inline'
  );
  const text = serializeMLmodel(meta);

  it('sorts keys, uses block style and indentless sequences like PyYAML', () => {
    const topKeys = text
      .split('\n')
      .filter((l) => /^[a-z_]+:/.test(l))
      .map((l) => l.split(':')[0]);
    expect(topKeys).toEqual([...topKeys].sort());
    expect(text).toContain('    list:\n    - a\n    - b\n');
    expect(text).not.toMatch(/[{}[\]]\s*$/m);
  });

  it('quotes strings that YAML 1.1 would read as another type', () => {
    expect(text).toContain("utc_time_created: '2024-05-17 23:15:28.764394'\n");
    expect(text).toContain("flag: 'yes'");
    expect(text).toContain("version: '1.10'");
    expect(text).toContain("when: '2024-01-02'");
  });

  it('is byte-stable: serialize(parse(serialize(x))) === serialize(x)', () => {
    expect(serializeMLmodel(parseMLmodel(text, 'again'))).toBe(text);
  });

  it('drops typed fields set to null and writes typed fields over raw', () => {
    const out = parseMLmodel(
      serializeMLmodel({ ...meta, metadata: null, modelSizeBytes: 42 }),
      'x'
    );
    expect(out.metadata).toBeNull();
    expect('metadata' in out.raw).toBe(false);
    expect(out.modelSizeBytes).toBe(42);
    expect(out.raw['zeta']).toBe(1);
  });
});

describe('readMLmodel / parseMLmodel errors', () => {
  it('accepts a directory or the MLmodel file; anything else is E_MLMODEL_MISSING', async () => {
    const dir = tmp.make();
    const missing = join(dir, 'nope');
    await expect(readMLmodel(missing)).rejects.toMatchObject({
      code: 'E_MLMODEL_MISSING',
      message: `Could not find an "MLmodel" configuration file at "${missing}"`,
    });
    await expect(readMLmodel(dir)).rejects.toMatchObject({ code: 'E_MLMODEL_MISSING' });
  });

  it('rejects malformed YAML naming the file', () => {
    expectCode(
      () => parseMLmodel('flavors: [unclosed\n', '/pkg/MLmodel'),
      'E_MLMODEL_INVALID',
      /\/pkg\/MLmodel.*malformed YAML/
    );
    expectCode(
      () => parseMLmodel('a: 1\na: 2\n', '/pkg/MLmodel'),
      'E_MLMODEL_INVALID',
      /\/pkg\/MLmodel/
    );
  });

  it('stops a billion-laughs alias bomb quickly', () => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    const names = 'bcdefghi';
    let prev = 'a';
    for (const n of names) {
      lines.push(`${n}: &${n} [${Array(9).fill(`*${prev}`).join(',')}]`);
      prev = n;
    }
    lines.push('flavors: {x: {}}');
    expectCode(
      () => parseMLmodel(lines.join('\n'), '/bomb/MLmodel'),
      'E_MLMODEL_INVALID',
      /\/bomb\/MLmodel.*alias/
    );
  });

  it('rejects documents that are not a mapping, and missing or malformed flavors', () => {
    for (const text of ['', '- a\n- b\n', 'just a string\n', '42\n']) {
      expectCode(() => parseMLmodel(text, 'f'), 'E_MLMODEL_INVALID', /expected a YAML mapping/);
    }
    expectCode(
      () => parseMLmodel('model_uuid: x\n', 'f'),
      'E_MLMODEL_INVALID',
      /"flavors" must be a mapping.*found null/
    );
    expectCode(() => parseMLmodel('flavors: [a]\n', 'f'), 'E_MLMODEL_INVALID', /found a list/);
    expectCode(
      () => parseMLmodel('flavors: {js_function: 3}\n', 'f'),
      'E_MLMODEL_INVALID',
      /flavor "js_function"/
    );
  });

  it('reports a malformed signature as E_SIGNATURE_INVALID naming the file', async () => {
    const dir = tmp.make();
    mkdirSync(join(dir, 'm'));
    writeFileSync(
      join(dir, 'm', 'MLmodel'),
      'flavors: {}\nsignature:\n  inputs: \'[{"type": "nope"\'\n'
    );
    await expect(readMLmodel(join(dir, 'm'))).rejects.toMatchObject({
      code: 'E_SIGNATURE_INVALID',
      message: expect.stringContaining(join(dir, 'm', 'MLmodel')),
    });
    expect(readFileSync(join(dir, 'm', 'MLmodel'), 'utf8')).toContain('signature');
  });
});

describe('parseMLmodel limits (issue 8, items 3c and 7)', () => {
  const head = 'flavors: {x: {}}\n';

  it('reports the first of many YAML errors on one long line as yaml would, with an excerpt', () => {
    // 3,000 errors on one 6,000-character line: yaml's own prettyErrors copies the whole line
    // for each of them (quadratic on longer lines), so only the first is described, the same way.
    const text = `${head}when: '2023-01-01'${'- '.repeat(3000)}x\n`;
    const pretty = parseDocument(text, {
      version: '1.1',
      prettyErrors: true,
      uniqueKeys: false,
      lineCounter: new LineCounter(),
      logLevel: 'error',
    });
    expect(pretty.errors.length).toBeGreaterThan(1000);
    let message = '';
    try {
      parseMLmodel(text, 'f');
    } catch (e) {
      expect((e as ModelError).code).toBe('E_MLMODEL_INVALID');
      message = (e as ModelError).message;
    }
    expect(message).toBe(`Invalid MLmodel file "f": malformed YAML: ${pretty.errors[0]!.message}`);
    expect(message).toMatch(/at line 2, column 19:\n\nwhen: '2023-01-01'- - /);
    for (const line of message.split('\n').slice(1)) expect(line.length).toBeLessThanOrEqual(80);
  });

  it('still rejects duplicate keys, in block and flow mappings, naming key and line', () => {
    expectCode(
      () => parseMLmodel(`${head}metadata:\n  a: 1\n  b: 2\n  a: 3\n`, '/pkg/MLmodel'),
      'E_MLMODEL_INVALID',
      /\/pkg\/MLmodel.*duplicate key "a" at line 5, column 3/
    );
    expectCode(
      () => parseMLmodel(`${head}m: {a: 1, b: {c: 1, c: 2}}\n`, 'f'),
      'E_MLMODEL_INVALID',
      /duplicate key "c" at line 2/
    );
    // Keys compare by value and type, as the `yaml` check did: 1 and "1" differ.
    expect(parseMLmodel(`${head}m: {1: a, "1": b}\n`, 'f').raw['m']).toEqual({ 1: 'b' });
  });

  it('checks 40,000 keys in one mapping, finding a duplicate (was 10-13 s, now ~1 s)', () => {
    const keys = Array.from({ length: 40_000 }, (_, i) => `  k${i}: ${i}\n`).join('');
    const started = performance.now();
    const meta = parseMLmodel(`${head}metadata:\n${keys}`, 'f');
    expect(Object.keys(meta.metadata ?? {})).toHaveLength(40_000);
    expectCode(
      () => parseMLmodel(`${head}metadata:\n${keys}  k7: again\n`, 'f'),
      'E_MLMODEL_INVALID',
      /duplicate key "k7" at line 40003/
    );
    // Generous (the fuzz suite checks the growth itself): the quadratic check took 150 s on a
    // loaded 2-core box, the linear one 2-11 s there.
    expect(performance.now() - started).toBeLessThan(30_000);
  });

  it('allows a few aliases, refuses more than 50 (alias resolution scans the document each)', () => {
    const few = `${head}a: &a [1, 2]\nb: *a\nc: *a\n`;
    expect(parseMLmodel(few, 'f').raw['c']).toEqual([1, 2]);
    const many = Array.from({ length: 51 }, (_, i) => `a${i}: &a${i} x\nb${i}: *a${i}\n`);
    expectCode(
      () => parseMLmodel(head + many.join(''), 'f'),
      'E_MLMODEL_INVALID',
      /more than 50 aliases at line \d+/
    );
  });

  it('refuses an alias inside the node it names (a cycle) and one before its anchor', () => {
    expectCode(
      () => parseMLmodel(`${head}a: &a [1, *a]\n`, 'f'),
      'E_MLMODEL_INVALID',
      /alias \*a is inside the node it refers to/
    );
    expectCode(
      () => parseMLmodel(`${head}b: *a\na: &a 1\n`, 'f'),
      'E_MLMODEL_INVALID',
      /alias \*a has no anchor &a before it/
    );
  });

  it('bounds nesting at 100 levels with a coded error, however deep (no RangeError)', () => {
    const nested = (n: number) => `${head}a: ${'['.repeat(n)}${']'.repeat(n)}\n`;
    // The root mapping is level 1.
    expect(parseMLmodel(nested(99), 'f').raw['a']).toBeDefined();
    expectCode(() => parseMLmodel(nested(100), 'f'), 'E_MLMODEL_INVALID', /deeper than 100 levels/);
    // Past the yaml composer's own stack: its overflow becomes the same limit message.
    expectCode(
      () => parseMLmodel(nested(100_000), 'f'),
      'E_MLMODEL_INVALID',
      /nested too deeply \(the limit is 100 levels\)/
    );
    let block = head;
    for (let i = 0; i < 150; i++) block += `${' '.repeat(i)}k${i}:\n`;
    expectCode(() => parseMLmodel(block, 'f'), 'E_MLMODEL_INVALID', /deeper than 100 levels/);
    // Aliases count with what they expand to.
    const half = `${'['.repeat(60)}${']'.repeat(60)}`;
    expectCode(
      () => parseMLmodel(`${head}a: &a ${half}\nb: ${'['.repeat(60)}*a${']'.repeat(60)}\n`, 'f'),
      'E_MLMODEL_INVALID',
      /deeper than 100 levels/
    );
  });

  it('reads !!omap as the sequence of one-key mappings it is written as', () => {
    const meta = parseMLmodel(`${head}m: !!omap\n- a: 1\n- b: 2\n`, 'f');
    expect(meta.raw['m']).toEqual([{ a: 1 }, { b: 2 }]);
  });
});

describe('parseMLmodel: keys that are collections', () => {
  it('refuses them (PyYAML: "found unhashable key") instead of stringifying with a warning', () => {
    for (const text of [
      'flavors: {x: {}}\n? [a, b]\n: 1\n',
      'flavors: {x: {}}\na: &k {x: 1}\n? *k\n: 2\n',
    ]) {
      expectCode(
        () => parseMLmodel(text, 'f'),
        'E_MLMODEL_INVALID',
        /a mapping key must be a scalar/
      );
    }
  });
});
