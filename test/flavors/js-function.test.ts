import { readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { tableFromArrays } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  loadJsFunction,
  parseJsFunctionFlavor,
  resolveModelConfig,
  type JsFunctionFlavorConfig,
} from '../../src/flavors/js-function.js';
import { loadModel } from '../../src/package/load-model.js';
import { readMLmodel } from '../../src/package/mlmodel.js';
import { saveModel } from '../../src/package/save-model.js';
import {
  BAD_EXPORTS,
  COUNTER_MODEL,
  THROWS_ON_IMPORT,
  WEIGHTS,
  tempDirs,
} from '../fixtures/package/paths.js';
import { rejectionOf } from '../util/model-error.js';

const tmp = tempDirs();
afterAll(() => tmp.cleanup());

interface Counter {
  constructed: number;
  loadCalls: number;
  predictCalls: number;
  factor: number;
  predict(ctx: unknown, t: unknown, p: unknown): number[];
}

async function flavorOf(dir: string): Promise<JsFunctionFlavorConfig> {
  const meta = await readMLmodel(dir);
  return parseJsFunctionFlavor(meta.flavors['js_function']!, dir);
}

/** Saves a package and lets a test rewrite one key of its js_function flavor. */
function patchFlavor(dir: string, patch: (text: string) => string): void {
  const file = join(dir, 'MLmodel');
  writeFileSync(file, patch(readFileSync(file, 'utf8')));
}

let counterDir = '';
beforeAll(async () => {
  counterDir = join(tmp.make(), 'counter');
  await saveModel(counterDir, {
    model: COUNTER_MODEL,
    artifacts: { weights: WEIGHTS },
    modelConfig: { scale: 2, bias: 0 },
  });
});

describe('loadJsFunction lifecycle', () => {
  it('constructs once, calls loadContext exactly once, with absolute artifact paths inside the package', async () => {
    const loaded = await loadJsFunction(counterDir, await flavorOf(counterDir));
    const model = loaded.instance as Counter;
    expect(model.constructed).toBe(1);
    expect(model.loadCalls).toBe(1);
    expect(model.factor).toBe(10);
    const weights = loaded.context.artifacts['weights']!;
    expect(isAbsolute(weights)).toBe(true);
    expect(weights).toBe(join(counterDir, 'artifacts/weights/weights.json'));
    expect(loaded.context.modelConfig).toEqual({ scale: 2, bias: 0 });
    expect(Object.isFrozen(loaded.context)).toBe(true);
    const out = model.predict(
      loaded.context,
      tableFromArrays({ x: Float64Array.from([1, 2]) }),
      {}
    );
    expect(out).toEqual([20, 40]);
    expect(model.loadCalls).toBe(1);
  });

  it('loads two models from one package independently (no shared state)', async () => {
    const flavor = await flavorOf(counterDir);
    const a = await loadJsFunction(counterDir, flavor, { modelConfig: { scale: 3 } });
    const b = await loadJsFunction(counterDir, flavor);
    expect(a.instance).not.toBe(b.instance);
    expect(a.context.modelConfig['scale']).toBe(3);
    expect(b.context.modelConfig['scale']).toBe(2);
    expect((a.instance as Counter).loadCalls).toBe(1);
    expect((b.instance as Counter).loadCalls).toBe(1);
  });

  it('applies only saved config keys at load and warns about the rest (MLflow rule)', async () => {
    const warnings: string[] = [];
    const loaded = await loadJsFunction(counterDir, await flavorOf(counterDir), {
      modelConfig: { scale: 5, extra: true },
      warn: (m) => warnings.push(m),
    });
    expect(loaded.context.modelConfig).toEqual({ scale: 5, bias: 0 });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/extra.*ignored.*allowed: bias, scale/);
  });

  it('uses the saved predict_fn, and the load-time override', async () => {
    const dir = join(tmp.make(), 'neg');
    await saveModel(dir, { model: COUNTER_MODEL, predictFn: 'predictNegated' });
    expect((await loadJsFunction(dir, await flavorOf(dir))).predictFn).toBe('predictNegated');
    expect(
      (await loadJsFunction(dir, await flavorOf(dir), { predictFn: 'predict' })).predictFn
    ).toBe('predict');
    await expect(
      loadJsFunction(dir, await flavorOf(dir), { predictFn: 'predictProba' })
    ).rejects.toMatchObject({
      code: 'E_MODEL_IMPORT',
      message: expect.stringMatching(
        /CounterModel.*no method "predictProba".*methods: .*predict, predictNegated/
      ),
    });
  });

  it('loads a named export', async () => {
    const dir = join(tmp.make(), 'const');
    await saveModel(dir, { model: { path: COUNTER_MODEL, exportName: 'ConstantModel' } });
    const loaded = await loadJsFunction(dir, await flavorOf(dir));
    expect(loaded.instance.constructor.name).toBe('ConstantModel');
  });
});

describe('resolveModelConfig', () => {
  it('overrides existing keys only, ignores everything without a saved config', () => {
    const warnings: string[] = [];
    const warn = (m: string): void => void warnings.push(m);
    expect(resolveModelConfig({ a: 1, b: 2 }, { b: 3 }, warn)).toEqual({ a: 1, b: 3 });
    expect(warnings).toEqual([]);
    expect(resolveModelConfig(undefined, { a: 1 }, warn)).toEqual({});
    expect(warnings[0]).toMatch(/a were ignored.*without a modelConfig/);
    const saved = { a: 1 };
    resolveModelConfig(saved, { a: 2 }, warn);
    expect(saved).toEqual({ a: 1 });
  });
});

describe('loadJsFunction failures', () => {
  async function badPackage(exportName: string): Promise<string> {
    const dir = join(tmp.make(), exportName);
    await saveModel(dir, { model: { path: BAD_EXPORTS, exportName } });
    return dir;
  }

  it('says what was found when the export is not a class', async () => {
    for (const [name, found] of [
      ['notAClass', /found an object with keys \[predict\]/],
      ['arrowFn', /found a function that is not a constructor/],
      ['missing', /found nothing.*exports: .*FailsToLoad/],
    ] as const) {
      const dir = await badPackage(name);
      await expect(loadJsFunction(dir, await flavorOf(dir))).rejects.toMatchObject({
        code: 'E_MODEL_IMPORT',
        message: expect.stringMatching(found),
      });
    }
  });

  it('rejects a class without the predict method', async () => {
    const dir = await badPackage('NoPredict');
    await expect(loadJsFunction(dir, await flavorOf(dir))).rejects.toMatchObject({
      code: 'E_MODEL_IMPORT',
      message: expect.stringMatching(/NoPredict.*no method "predict".*methods: score/),
    });
  });

  it('wraps constructor and loadContext failures as E_MODEL_LOAD with the cause', async () => {
    for (const [name, text] of [
      ['FailsToLoad', /loadContext of model class FailsToLoad threw: weights are corrupt/],
      ['FailsToConstruct', /constructor of model class FailsToConstruct threw: cannot construct/],
    ] as const) {
      const dir = await badPackage(name);
      const error = await loadJsFunction(dir, await flavorOf(dir)).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'E_MODEL_LOAD', message: expect.stringMatching(text) });
      expect((error as Error).cause).toBeInstanceOf(Error);
    }
  });

  it('reports an import failure with the file and the cause; stack names the bundle', async () => {
    const dir = join(tmp.make(), 'throws');
    await saveModel(dir, { model: THROWS_ON_IMPORT });
    const error = (await loadJsFunction(dir, await flavorOf(dir)).catch(
      (e: unknown) => e
    )) as Error;
    expect(error).toMatchObject({
      code: 'E_MODEL_IMPORT',
      message: expect.stringContaining(join(dir, 'code/model.cjs')),
    });
    expect(error.message).toContain('top-level failure in model module');
    expect((error.cause as Error).stack).toContain(`file://${join(dir, 'code/model.cjs')}`);
    expect((error.cause as Error).stack).not.toContain('data:');
  });

  it('reports a missing code file as E_ARTIFACT_MISSING', async () => {
    const dir = join(tmp.make(), 'nocode');
    await saveModel(dir, { model: COUNTER_MODEL });
    rmSync(join(dir, 'code/model.cjs'));
    await expect(loadJsFunction(dir, await flavorOf(dir))).rejects.toMatchObject({
      code: 'E_ARTIFACT_MISSING',
      message: expect.stringContaining('code/model.cjs'),
    });
  });

  it('rejects artifact paths that escape the package, and names missing artifacts', async () => {
    const cases: [string, string, RegExp][] = [
      [
        '../../etc/passwd',
        'E_ARTIFACT_PATH',
        /artifact "weights" path "\.\.\/\.\.\/etc\/passwd" leaves the package/,
      ],
      ['/etc/passwd', 'E_ARTIFACT_PATH', /is absolute/],
      ['artifacts/../../x', 'E_ARTIFACT_PATH', /leaves the package/],
      [
        'artifacts/weights/gone.json',
        'E_ARTIFACT_MISSING',
        /artifact "weights" "artifacts\/weights\/gone\.json" does not exist/,
      ],
    ];
    for (const [path, code, text] of cases) {
      const dir = join(tmp.make(), 'escape');
      await saveModel(dir, { model: COUNTER_MODEL, artifacts: { weights: WEIGHTS } });
      patchFlavor(dir, (t) => t.replace('path: artifacts/weights/weights.json', `path: ${path}`));
      await expect(loadJsFunction(dir, await flavorOf(dir))).rejects.toMatchObject({
        code,
        message: expect.stringMatching(text),
      });
    }
    // A code entry outside the package is refused too.
    const dir = join(tmp.make(), 'entry');
    await saveModel(dir, { model: COUNTER_MODEL });
    patchFlavor(dir, (t) => t.replace('entry: code/model.cjs', 'entry: ../elsewhere.mjs'));
    await expect(loadJsFunction(dir, await flavorOf(dir))).rejects.toMatchObject({
      code: 'E_ARTIFACT_PATH',
    });
  });

  it('rejects a symlinked artifact that points outside the package', async () => {
    const dir = join(tmp.make(), 'link');
    await saveModel(dir, { model: COUNTER_MODEL, artifacts: { weights: WEIGHTS } });
    rmSync(join(dir, 'artifacts/weights/weights.json'));
    symlinkSync(WEIGHTS, join(dir, 'artifacts/weights/weights.json'));
    await expect(loadJsFunction(dir, await flavorOf(dir))).rejects.toMatchObject({
      code: 'E_ARTIFACT_PATH',
      message: expect.stringContaining('through a symlink'),
    });
  });

  it('rejects ill-typed flavor keys as E_MLMODEL_INVALID', () => {
    expect(() => parseJsFunctionFlavor({ predict_fn: 3 }, 'f')).toThrow(
      /"predict_fn" must be a non-empty string/
    );
    expect(() => parseJsFunctionFlavor({ artifacts: { w: { uri: 'x' } } }, 'f')).toThrow(
      /artifact "w" must have a string "path"/
    );
    expect(parseJsFunctionFlavor({}, 'f')).toMatchObject({
      entry: 'code/model.mjs',
      export_name: 'default',
      predict_fn: 'predict',
    });
  });
});

describe('loadJsFunction with hostile model objects (issue 8, item 7)', () => {
  async function packageOf(name: string, source: string): Promise<string> {
    const project = tmp.make();
    writeFileSync(join(project, `${name}.mjs`), source);
    const dir = join(project, 'pkg');
    await saveModel(dir, { model: join(project, `${name}.mjs`) });
    return dir;
  }

  it.each([
    [
      'a Proxy export whose traps throw',
      'export default new Proxy(function () {}, { get() { throw new Error("trap"); } });',
      'E_MODEL_IMPORT',
      /inspecting export "default" threw: trap/,
    ],
    [
      'a non-class Proxy that cannot even list its keys',
      'export default new Proxy({}, { ownKeys() { throw new Error("keys"); }, get() { return undefined; } });',
      'E_MODEL_IMPORT',
      /must export a class as "default", found a value that cannot be inspected/,
    ],
    [
      'a throwing static name and a throwing predict getter',
      'export default class M { static get name() { throw new Error("n"); } get predict() { throw new Error("p"); } }',
      'E_MODEL_IMPORT',
      /reading "predict" of class default threw: p/,
    ],
    [
      'an instance whose predict is a throwing getter',
      'export default class M { constructor() { Object.defineProperty(this, "predict", { get() { throw new Error("inst"); } }); } }',
      'E_MODEL_LOAD',
      /Reading "predict" of the model instance threw: inst/,
    ],
    [
      'a throwing loadContext getter',
      'export default class M { get loadContext() { throw new Error("lc"); } predict() { return [1]; } }',
      'E_MODEL_LOAD',
      /Reading loadContext of model class M threw: lc/,
    ],
    [
      'a constructor that is a Proxy with a throwing construct trap',
      'class M { predict() { return [1]; } }\nexport default new Proxy(M, { construct() { throw new Error("ctor"); } });',
      'E_MODEL_LOAD',
      /constructor of model class M threw: ctor/,
    ],
  ])('%s: %s', async (_what, source, code, text) => {
    const dir = await packageOf('hostile', source);
    const error = await rejectionOf(loadJsFunction(dir, await flavorOf(dir)));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(text);
  });

  it('a predict getter that throws only after loading fails predict with E_MODEL_PREDICT', async () => {
    const dir = await packageOf(
      'late',
      'let n = 0;\nexport default class M { get predict() { if (n++ > 0) throw new Error("late"); return () => [1]; } }'
    );
    const model = await loadModel(dir);
    const error = await rejectionOf(model.predict([{ x: 1 }]));
    expect(error.code).toBe('E_MODEL_PREDICT');
    expect(error.message).toMatch(/Model predict failed: late/);
  });
});
