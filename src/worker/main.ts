/**
 * The worker thread's main module: what tinypool starts in every pool worker. It is
 * `pool/worker-entry.ts` (tinypool's task function) plus the task handlers jsfunc itself sends,
 * registered so that a task naming `dist/udf/score-batch.js` runs the copy carried here.
 *
 * Why a separate module: `npm run build` bundles this file with esbuild
 * (`scripts/bundle-worker.mjs`) into `dist/worker-bundle/main.js`, one file holding jsfunc's
 * worker code, apache-arrow, yaml and their dependencies, so that a new worker parses one file
 * instead of importing ~250 ES modules (the import was most of a UDF's cold start). The file
 * handler (`score/score-split.ts`, with the file readers and writers) stays a separate chunk,
 * imported by the first split task. A handler not registered here is imported by URL as before.
 * Without the bundle (a build that ran `tsc` only), the pool starts this module unbundled.
 *
 * It sits above every layer (like `cli/main.ts`): it only wires handlers to the worker entry.
 *
 * @module
 */
import * as arrow from 'apache-arrow';
import { provideExternal } from '../package/load-bundle.js';
import run, { registerHandler, teardown } from '../pool/worker-entry.js';
import * as warmUp from '../pool/warm-up.js';
import * as scoreBatch from '../udf/score-batch.js';

// Both this file and its bundle sit one directory below the dist root: `..` is the root.
const here = (path: string) => new URL(path, import.meta.url).href;

registerHandler(here('../udf/score-batch.js'), () => Promise.resolve(scoreBatch));
registerHandler(here('../pool/warm-up.js'), () => Promise.resolve(warmUp));
registerHandler(here('../score/score-split.js'), () => import('../score/score-split.js'));

// Models share the Arrow copy that builds their input tables (see `provideExternal`).
provideExternal('apache-arrow', arrow as unknown as Record<string, unknown>);

export default run;
export { teardown };
