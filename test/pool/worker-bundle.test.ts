// The bundled worker: the pool starts dist/worker-bundle/main.js, and a worker scoring a UDF
// batch imports a handful of files instead of ~250 modules. Counted by a module loader hook in a
// child process (deterministic: the set of modules, not a time). Needs `npm run build`.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workerFileUrl } from '../../src/pool/pool.js';
// @ts-expect-error plain .mjs fixture generator without types
import { makeFixtures } from '../fixtures/udf/make-fixtures.mjs';
import { distUrl, repoRoot, type ChildRun } from './helpers.js';

let dir: string;
let probe: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'jsfunc-worker-bundle-'));
  ({ probe } = makeFixtures(dir) as { probe: string });
  // A loader hook in every thread (workers inherit --import) logging "<threadId> <url>".
  writeFileSync(
    join(dir, 'register.mjs'),
    `import { register } from 'node:module';
import { threadId } from 'node:worker_threads';
register(${JSON.stringify(new URL(`file://${join(dir, 'hooks.mjs')}`).href)}, { data: { threadId, log: process.env.JSFUNC_MODULE_LOG } });
`
  );
  writeFileSync(
    join(dir, 'hooks.mjs'),
    `import { appendFileSync } from 'node:fs';
let tid; let log;
export function initialize(data) { tid = data.threadId; log = data.log; }
export async function load(url, context, next) {
  appendFileSync(log, tid + ' ' + url + '\\n');
  return next(url, context);
}
`
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `script` in a child node whose every thread loads the module-logging hook. */
function runLogged(script: string, env: Record<string, string>): Promise<ChildRun> {
  const file = join(dir, `script-${Object.keys(env).length}.mjs`);
  writeFileSync(file, script);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      // Workers inherit execArgv, so the hook is registered in each of them too.
      ['--import', new URL(`file://${join(dir, 'register.mjs')}`).href, file],
      { cwd: repoRoot, env: { ...process.env, ...env }, timeout: 120_000, killSignal: 'SIGKILL' },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : 1, signal: null, stdout, stderr })
    );
  });
}

/** Modules (not built-ins) each worker thread of a UDF scoring one batch loaded. */
async function workerModules(env: Record<string, string>): Promise<string[][]> {
  const log = join(dir, `modules-${Object.keys(env).length}.log`);
  const script = `
const { sparkUdf } = await import(${JSON.stringify(distUrl('udf/spark-udf.js'))});
const { tableFromArrays } = await import(${JSON.stringify(new URL(`file://${join(repoRoot, 'node_modules/apache-arrow/Arrow.node.mjs')}`).href)});
const udf = await sparkUdf(${JSON.stringify(probe)}, { workers: 1, resultType: 'double', placement: 'workers' });
const out = await udf.apply(tableFromArrays({ x: Float64Array.from([1, 2]), id: BigInt64Array.from([1n, 2n]) }));
await udf.close();
console.log(JSON.stringify(Array.from(out.toArray())));
`;
  const run = await runLogged(script, { ...env, JSFUNC_MODULE_LOG: log });
  expect(run.stderr).not.toMatch(/Error/);
  expect(JSON.parse(run.stdout.trim())).toEqual([2, 4]);
  const byThread = new Map<string, Set<string>>();
  for (const line of readFileSync(log, 'utf8').split('\n').filter(Boolean)) {
    const [tid, url] = line.split(' ') as [string, string];
    if (tid === '0' || url.startsWith('node:')) continue;
    let set = byThread.get(tid);
    if (set === undefined) byThread.set(tid, (set = new Set()));
    set.add(url);
  }
  return [...byThread.values()].map((s) => [...s]);
}

describe('bundled worker', () => {
  it('is the file the pool starts', () => {
    expect(fileURLToPath(workerFileUrl())).toMatch(/[\\/]dist[\\/]worker-bundle[\\/]main\.js$/);
  });

  it('loads a handful of modules per worker (the unbundled worker loads hundreds)', async () => {
    const [bundled] = await workerModules({});
    expect(bundled).toBeDefined();
    // tinypool's 4 entry files and its index, the bundle's main file and shared chunk, and the
    // probe model's code (a data: URL): nothing of apache-arrow or jsfunc's own modules.
    expect(bundled!.length, bundled!.join('\n')).toBeLessThanOrEqual(12);
    expect(bundled!.some((u) => u.includes('/dist/worker-bundle/main.js'))).toBe(true);
    expect(bundled!.filter((u) => u.includes('/apache-arrow/'))).toEqual([]);
    const dist = distUrl('');
    const unbundledDist = (u: string) =>
      u.startsWith(dist) && !u.startsWith(`${dist}worker-bundle/`);
    expect(bundled!.filter(unbundledDist)).toEqual([]);
    const [unbundled] = await workerModules({ JSFUNC_WORKER_BUNDLE: '0' });
    expect(unbundled!.length).toBeGreaterThan(150);
  });
});
