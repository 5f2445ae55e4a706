// Worker of the load-once benchmark's naive variant (a tinypool worker file): loads the model
// for every task, scores it, drops it, as MLflow's spark_udf does per batch in local mode.
// Nothing is cached between tasks except Node's own module cache (the model's code is
// evaluated once per thread; loadContext and its artifact reading run every time).
import * as arrow from 'apache-arrow';
import { loadModel } from '../dist/package/load-model.js';

/**
 * @param {{ path: string, modelConfig: object, columns: Record<string, ArrayBufferView> }} task
 * @returns {Promise<Float64Array>} one prediction per row
 */
export default async function naiveScore({ path, modelConfig, columns }) {
  const model = await loadModel(path, { modelConfig, warn: () => {} });
  const out = await model.predict(arrow.tableFromArrays(columns));
  return out instanceof Float64Array ? out : Float64Array.from(out);
}
