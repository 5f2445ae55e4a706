/**
 * One evaluation of a function-body bundle per thread while a model uses it (issue 9): the
 * UDF's model on the calling thread and the user's own `loadModel` run the same compiled code,
 * as Python's import shares a module between two `load_model` calls.
 *
 * The model's module counts its evaluations on `globalThis` (per tag, so tests do not see each
 * other's packages); loads count in `loadContext`, per instance.
 */
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/package/load-model.js';
import { saveModel } from '../../src/package/save-model.js';
import { tempDirs } from '../fixtures/package/paths.js';

const tmp = tempDirs();
afterAll(() => tmp.cleanup());

interface Counts {
  evaluations: number;
  failNext: number;
}

function counts(tag: string): Counts {
  const g = globalThis as { __jsfuncBundleTest?: Record<string, Counts> };
  return ((g.__jsfuncBundleTest ??= {})[tag] ??= { evaluations: 0, failNext: 0 });
}

/** A model whose module counts its evaluations under `tag` and can be told to fail once. */
function modelSource(tag: string): string {
  return `
const counts = ((globalThis.__jsfuncBundleTest ??= {})[${JSON.stringify(tag)}] ??= { evaluations: 0, failNext: 0 });
if (counts.failNext > 0) { counts.failNext--; throw new Error('module failed on purpose'); }
counts.evaluations++;
let moduleLoads = 0;
export default class Model {
  loadContext(context) { this.loads = ++moduleLoads; this.scale = context.modelConfig.scale; }
  predict(context, input) {
    return Array.from(input.getChild('x').toArray(), (x) => x * this.scale);
  }
}
`;
}

async function savePackage(tag: string): Promise<string> {
  const dir = tmp.make();
  writeFileSync(join(dir, 'model.mjs'), modelSource(tag));
  const pkg = join(dir, 'pkg');
  await saveModel(pkg, { model: join(dir, 'model.mjs'), modelConfig: { scale: 1 } });
  return pkg;
}

async function collectGarbage(): Promise<void> {
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  for (let i = 0; i < 4; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    gc();
  }
  await new Promise((resolve) => setTimeout(resolve, 5));
}

let shared = '';
beforeAll(async () => {
  shared = await savePackage('shared');
});

describe('evaluateBundle: one evaluation per thread while in use', () => {
  it('two loads share the class and module; each has its own instance, config and loadContext', async () => {
    const before = counts('shared').evaluations;
    const a = await loadModel(shared, { modelConfig: { scale: 2 } });
    const b = await loadModel(shared, { modelConfig: { scale: 3 } });
    expect(counts('shared').evaluations).toBe(before + 1);
    const ia = a.unwrap() as { loads: number; scale: number };
    const ib = b.unwrap() as { loads: number; scale: number };
    expect(ia).not.toBe(ib);
    expect(ia.constructor).toBe(ib.constructor);
    // Module-level state is shared, as for a re-imported module: the second load counts 2.
    expect(ib.loads).toBe(ia.loads + 1);
    expect([ia.scale, ib.scale]).toEqual([2, 3]);
    expect(await a.predict([{ x: 1 }, { x: 2 }])).toEqual([2, 4]);
    expect(await b.predict([{ x: 1 }, { x: 2 }])).toEqual([3, 6]);
  });

  it('concurrent loads evaluate the module once', async () => {
    const pkg = await savePackage('concurrent');
    const models = await Promise.all([loadModel(pkg), loadModel(pkg), loadModel(pkg)]);
    expect(counts('concurrent').evaluations).toBe(1);
    expect(new Set(models.map((m) => m.unwrap<object>().constructor)).size).toBe(1);
  });

  it('a copy of the package elsewhere (same text, another file) is evaluated on its own', async () => {
    const pkg = await savePackage('copied');
    const copy = join(tmp.make(), 'copy');
    cpSync(pkg, copy, { recursive: true });
    const a = await loadModel(pkg);
    const b = await loadModel(copy);
    expect(counts('copied').evaluations).toBe(2);
    expect(a.unwrap<object>().constructor).not.toBe(b.unwrap<object>().constructor);
  });

  it('a failed evaluation is not kept: the next load evaluates again', async () => {
    const pkg = await savePackage('fails');
    counts('fails').failNext = 1;
    await expect(loadModel(pkg)).rejects.toMatchObject({
      code: 'E_MODEL_IMPORT',
      message: expect.stringContaining('module failed on purpose'),
    });
    const model = await loadModel(pkg, { modelConfig: { scale: 5 } });
    expect(counts('fails').evaluations).toBe(1);
    expect(await model.predict([{ x: 2 }])).toEqual([10]);
  });

  it('a model dropped while another lives: the next load still shares the code', async () => {
    const pkg = await savePackage('one-left');
    const held = await loadModel(pkg);
    await (async () => void (await loadModel(pkg)))();
    await collectGarbage();
    expect((await loadModel(pkg)).unwrap<object>().constructor).toBe(
      held.unwrap<object>().constructor
    );
    expect(counts('one-left').evaluations).toBe(1);
  });

  it('once no model uses the code, it is collected and the next load evaluates it again', async () => {
    const pkg = await savePackage('collected');
    const sameClass = async (): Promise<boolean> => {
      const a = await loadModel(pkg);
      const b = await loadModel(pkg);
      return a.unwrap<object>().constructor === b.unwrap<object>().constructor;
    };
    expect(await sameClass()).toBe(true);
    expect(counts('collected').evaluations).toBe(1);
    await collectGarbage();
    expect(await sameClass()).toBe(true);
    expect(counts('collected').evaluations).toBe(2);
  });
});
