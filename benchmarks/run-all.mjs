// Runs the benchmark suite, one fresh node process per benchmark, then refreshes the tables in
// benchmarks/README.md from benchmarks/results/*.json.
//
//   npm run bench                                  (build + this script)
//   node benchmarks/run-all.mjs [--quick] [--only scaling,overhead] [--transfer] [--e2e] [--serve] [-- flags...]
//
// Flags after `--` (and BENCH_* environment variables) are passed to every benchmark, e.g.
// `-- --reps 3`. --transfer also runs benchmarks/transfer.mjs (the data-path measurement, which
// writes benchmarks/results/transfer.json); it is off by default to keep the suite short.
// --e2e also runs benchmarks/e2e.mjs (`jsfunc score` vs DuckDB on the flights files, fresh
// processes; 20-30 minutes with the default 3 runs, a few with --quick; `--only e2e` runs it
// alone). It writes benchmarks/results/e2e.json; its table is printed, not rendered into the
// README (see the e2e section there).
// --serve also runs benchmarks/serve.mjs (`jsfunc serve` over loopback HTTP, main thread vs the
// pool, a few minutes; `--only serve` runs it alone). It writes benchmarks/results/serve.json;
// its table is printed (`node benchmarks/serve.mjs --report`), not rendered into the README.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchDir, repoRoot } from './lib.mjs';
import { updateReadme } from './report.mjs';

const dash = process.argv.indexOf('--');
const own = dash < 0 ? process.argv.slice(2) : process.argv.slice(2, dash);
const passThrough = dash < 0 ? [] : process.argv.slice(dash + 1);
const { values } = parseArgs({
  args: own,
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    transfer: { type: 'boolean', default: false },
    e2e: { type: 'boolean', default: false },
    serve: { type: 'boolean', default: false },
  },
});
// placement: own predict vs apply with placement auto/workers/caller, and the spread of repeated
// calls (issue 9); its table is printed (`node benchmarks/placement.mjs --report`), not rendered
// into the README's results block (see the placement section there).
// caller: the calling thread alone, own predict vs auto/caller with nothing else in the rounds
// (issue 9); its table is printed, not rendered.
const all = [
  'scaling',
  'overhead',
  'placement',
  'caller',
  'load-once',
  'memory',
  'cold-start',
  'dataframe',
];
const optional = ['e2e', 'serve']; // long: only on request (--e2e, --serve or --only <name>)
const names = values.only ? values.only.split(',').map((s) => s.trim()) : [...all];
for (const n of names)
  if (!all.includes(n) && !optional.includes(n))
    throw new Error(`unknown benchmark ${n}; expected ${[...all, ...optional].join(', ')}`);
if (values.e2e && !names.includes('e2e')) names.push('e2e');
if (values.serve && !names.includes('serve')) names.push('serve');
const extra = [...(values.quick ? ['--quick'] : []), ...passThrough];

const started = performance.now();
const failed = [];
const runs = names.map((n) => [n, join(benchDir, `${n}.mjs`), extra]);
if (values.transfer)
  runs.push(['transfer', join(benchDir, 'transfer.mjs'), values.quick ? ['--quick'] : []]);
for (const [name, file, args] of runs) {
  console.log(`\n=== ${name} ===`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [file, ...args], { cwd: repoRoot, stdio: 'inherit' });
  console.log(
    `=== ${name}: ${r.status === 0 ? 'done' : `FAILED (exit ${r.status ?? r.signal})`} in ${((performance.now() - t0) / 1000).toFixed(1)} s`
  );
  if (r.status !== 0) failed.push(name);
}
console.log(`\nupdated ${updateReadme()}`);
console.log(
  `suite: ${((performance.now() - started) / 1000).toFixed(1)} s${failed.length ? `; failed: ${failed.join(', ')}` : ''}`
);
process.exitCode = failed.length ? 1 : 0;
