// Runs inside a fresh project that installed the packed jsfunc tarball (see check-pack.sh):
// the public API through the package's `exports`, worker threads included.
import { rmSync } from 'node:fs';
import { tableFromArrays } from 'apache-arrow';
import { ModelError, getModelInfo, loadModel, saveModel, sparkUdf } from 'jsfunc';

const fail = (message) => {
  console.error(`pack smoke: ${message}`);
  process.exit(1);
};
rmSync('pkg', { recursive: true, force: true });
await saveModel('pkg', {
  model: 'model.mjs',
  signature: {
    inputs: [{ kind: 'column', name: 'x', type: { type: 'double' }, required: true }],
    outputs: [{ kind: 'column', type: { type: 'double' }, required: true }],
    params: null,
  },
});
if (!('js_function' in (await getModelInfo('pkg')).flavors)) fail('no js_function flavor');
const model = await loadModel('pkg');
const direct = Array.from(await model.predict([{ x: 1 }, { x: 2.5 }]));
if (direct.join() !== '2,5') fail(`predict gave ${direct}`);
const udf = await sparkUdf('pkg', { workers: 2 });
const n = 100_000;
const v = await udf.apply(tableFromArrays({ x: Float64Array.from({ length: n }, (_, i) => i) }));
if (v.length !== n || v.get(n - 1) !== 2 * (n - 1)) fail('sparkUdf results differ');
const loads = udf.stats().modelLoads;
await udf.close();
try {
  await loadModel('missing');
  fail('loading a missing package did not throw');
} catch (e) {
  if (!(e instanceof ModelError) || e.code !== 'E_MLMODEL_MISSING') fail(`wrong error ${e}`);
}
console.log(`pack smoke: ok (predict, sparkUdf over ${n} rows with ${loads} model loads, errors)`);
