// End to end: `jsfunc score` against DuckDB doing the same job on the same files (issue 7's
// targets). Real data: vega-datasets' flights (3M rows; 12M = 4 copies), the flights model
// (udf/flights: `0.8*delay + 0.01*distance + 2`, inputs delay/distance long), the same formula
// as a SQL expression in DuckDB.
//
//   node benchmarks/e2e.mjs [--quick] [--runs N] [--jobs pq12-pq,csv3-pq,...] [--threads N]
//        [--check all|first|none] [--data-dir DIR] [--keep] [--jsfunc ROOT | --live-dist]
//   node benchmarks/e2e.mjs --report        (print the markdown table of results/e2e.json)
//
// Every run is a FRESH process, timed from spawn to exit (process start, imports and model load
// included), with the child's peak RSS from `/usr/bin/time -f %M` (or /proc polling):
//   duckdb      node benchmarks/e2e-duckdb.mjs: `SET threads=N; COPY (SELECT *, <formula> AS
//               prediction FROM src) TO dst (FORMAT ...)`
//   jsfunc W=N  node dist/cli/main.js score -m <flights package> -i src -o dst --workers N --json
//   jsfunc W=1  the same with --workers 1 (the W=N / W=1 scaling)
// dist/ is copied at the start (.tmp/e2e-jsfunc-build/), so a rebuild during the run does not
// mix two builds; --jsfunc ROOT runs another build (ROOT/package.json + ROOT/dist/, e.g. a saved
// baseline), --live-dist the repository's dist/ itself.
// Per job, rounds of (duckdb, jsfunc W=N, jsfunc W=1); best and median of --runs rounds
// (default 3). After each jsfunc run (untimed), DuckDB checks its output against DuckDB's output
// of the same round: same columns, same row count, row i equal to row i (prediction within 1e-9
// relative); see e2e-data.mjs. A mismatch is printed loudly and marked in the table.
//
// Jobs (id: input -> output; --quick = the 3M-row jobs, 1 run):
//   pq12-pq     Parquet 12M -> Parquet      target ratio >= 1.0
//   csv3-pq     CSV 3M -> Parquet           target ratio >= 0.7
//   pq3-csv     Parquet 3M -> CSV           target ratio >= 0.7
//   pq12-csv    Parquet 12M -> CSV          target ratio >= 0.7
//   csv3-csv    CSV 3M -> CSV
//   pq12-arrow  Parquet 12M -> Arrow IPC file (.arrow). DuckDB has no Arrow IPC writer without
//               an extension: its side writes uncompressed Parquet instead (a proxy, marked)
// ratio = jsfunc throughput / DuckDB throughput = DuckDB s / jsfunc s (> 1: jsfunc faster);
// also W=N >= 1.8x W=1 and peak RSS <= 600 MB on the 12M-row jobs.
//
// Inputs are made once (when missing) under .tmp/bench-data/ (git-ignored; --data-dir or
// BENCH_DATA_DIR to move them); outputs go to <data-dir>/out/ and are deleted after each check
// unless --keep. Results: benchmarks/results/e2e.json. Needs a build (dist/) for jsfunc and the
// model package.
import { spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import {
  MB,
  benchDir,
  flags,
  list,
  machineInfo,
  median,
  modelPath,
  num,
  repoRoot,
  resultsDir,
  round,
  spinProbe,
  table,
  writeResults,
} from './lib.mjs';
import { closeDuckDb, compareOutputs, countRows, prepareData } from './e2e-data.mjs';
import { E2E_SQL_EXPR } from './e2e-duckdb.mjs';

const loadavgStart = os.loadavg().map((x) => round(x, 3));

const JOBS = [
  {
    id: 'pq12-pq',
    label: 'Parquet 12M -> Parquet',
    input: 'flights-12m.parquet',
    output: 'parquet',
    targetRatio: 1.0,
  },
  {
    id: 'csv3-pq',
    label: 'CSV 3M -> Parquet',
    input: 'flights-3m.csv',
    output: 'parquet',
    targetRatio: 0.7,
  },
  {
    id: 'pq3-csv',
    label: 'Parquet 3M -> CSV',
    input: 'flights-3m.parquet',
    output: 'csv',
    targetRatio: 0.7,
  },
  {
    id: 'pq12-csv',
    label: 'Parquet 12M -> CSV',
    input: 'flights-12m.parquet',
    output: 'csv',
    targetRatio: 0.7,
  },
  { id: 'csv3-csv', label: 'CSV 3M -> CSV', input: 'flights-3m.csv', output: 'csv' },
  {
    id: 'pq12-arrow',
    label: 'Parquet 12M -> Arrow',
    input: 'flights-12m.parquet',
    output: 'arrow',
  },
];
/** DuckDB's COPY format and file extension per jsfunc output format. */
const DUCKDB_OUT = {
  parquet: { format: 'parquet', ext: 'parquet' },
  csv: { format: 'csv', ext: 'csv' },
  // No Arrow IPC writer in DuckDB core (the community `arrow` extension has one): a proxy.
  arrow: { format: 'parquet-uncompressed', ext: 'parquet', proxy: 'uncompressed Parquet' },
};
const TARGET_SPEEDUP = 1.8;
const TARGET_RSS_MB = 600;
const BIG_ROWS = 12_000_000;

const values = flags({
  jobs: { type: 'string' },
  runs: { type: 'string' },
  threads: { type: 'string' },
  check: { type: 'string' },
  'data-dir': { type: 'string' },
  jsfunc: { type: 'string' },
  'live-dist': { type: 'boolean', default: false },
  keep: { type: 'boolean', default: false },
  report: { type: 'boolean', default: false },
});

// ---------------------------------------------------------------------------------- reporting

const fmtS = (x) => (Number.isFinite(x) ? x.toFixed(x < 10 ? 2 : 1) : 'failed');
const fmtX = (x) => (Number.isFinite(x) ? String(round(x, 2)) : '-');
const met = (ok) => (ok === undefined ? '' : ok ? ' (met)' : ' (NOT met)');

/** The summary rows (one per job) for console.table and markdown. */
function tableRows(result) {
  return result.results.map((r) => ({
    job: r.label,
    'DuckDB s': `${fmtS(r.duckdb.bestS)}${r.duckdbProxy ? ` [proxy: ${r.duckdbProxy}]` : ''}`,
    [`jsfunc W=${result.threads} s`]: fmtS(r.jsfuncW.bestS),
    'ratio (target)': `${fmtX(r.ratio)}${r.targets.ratio ? ` (>= ${r.targets.ratio.toFixed(1)}${r.met.ratio ? ' met' : ' NOT met'})` : ''}`,
    'jsfunc W=1 s': fmtS(r.jsfuncW1.bestS),
    [`W=${result.threads}/W=1 (>= ${TARGET_SPEEDUP})`]: `${fmtX(r.speedup)}${met(r.met.speedup)}`,
    [`P_${result.threads}`]: r.machineParallelism?.length
      ? String(round(median(r.machineParallelism), 2))
      : '-',
    'jsfunc peak RSS MB': `${Number.isFinite(r.jsfuncW.peakRssMB) ? Math.round(r.jsfuncW.peakRssMB) : '-'}${r.targets.rssMB ? ` (<= ${r.targets.rssMB}${r.met.rss ? ' met' : ' NOT met'})` : ''}`,
    'DuckDB peak RSS MB': Number.isFinite(r.duckdb.peakRssMB)
      ? Math.round(r.duckdb.peakRssMB)
      : '-',
    correct: r.correct,
  }));
}

/** Markdown table of a results object (for benchmarks/README.md). */
function markdown(result) {
  const rows = tableRows(result);
  const cols = Object.keys(rows[0] ?? {});
  const line = (cells) => `| ${cells.join(' | ')} |`;
  const m = result.machine;
  return [
    line(cols),
    line(cols.map(() => '---')),
    ...rows.map((r) => line(cols.map((c) => String(r[c])))),
    '',
    `<sub>${m.date}; best of ${result.runs} fresh processes (medians in results/e2e.json); ${m.cpus} CPUs ${m.cpuModel}; ` +
      `load average ${m.loadavgStart?.join(' / ')} at start, ${m.loadavg1} at end; Node ${m.node}, DuckDB ${m.versions.duckdb}, ` +
      `jsfunc ${m.versions.jsfunc} (${result.jsfuncBuild?.head ?? '?'}${result.jsfuncBuild?.srcDirty ? `, ${result.jsfuncBuild.srcDirty} files of src/ modified` : ''})</sub>`,
  ].join('\n');
}

if (values.report) {
  const r = JSON.parse(readFileSync(join(resultsDir, 'e2e.json'), 'utf8'));
  console.log(markdown(r));
  process.exit(0);
}

// ---------------------------------------------------------------------------------- settings

const runs = num(values, 'runs', num(values, 'reps', 3, 1), 1);
const threads = num(values, 'threads', 2);
const checkMode = String(values.check ?? process.env.BENCH_CHECK ?? 'all');
if (!['all', 'first', 'none'].includes(checkMode))
  throw new Error(`--check must be all, first or none; got ${checkMode}`);
const jobIds = list(
  values,
  'jobs',
  JOBS.map((j) => j.id),
  JOBS.filter((j) => !j.input.includes('12m')).map((j) => j.id)
);
const jobs = jobIds.map((id) => {
  const job = JOBS.find((j) => j.id === id);
  if (job === undefined)
    throw new Error(`unknown job ${id}; expected one of ${JOBS.map((j) => j.id).join(', ')}`);
  return job;
});
const dataDir = resolve(
  repoRoot,
  String(values['data-dir'] ?? process.env.BENCH_DATA_DIR ?? '.tmp/bench-data')
);
const outDir = join(dataDir, 'out');
const repoCli = join(repoRoot, 'dist/cli/main.js');
const duckdbChild = join(benchDir, 'e2e-duckdb.mjs');
const vegaParquet = join(repoRoot, 'node_modules/vega-datasets/data/flights-3m.parquet');
if (!existsSync(repoCli))
  throw new Error(`${repoCli} is missing: run "npx tsc -p tsconfig.build.json"`);

/**
 * The jsfunc build the runs use. Others rebuild dist/ while a 20-minute run goes on, so by
 * default the runs use a copy of dist/ (and package.json, for `"type": "module"` and the
 * version) taken at the start, in .tmp/e2e-jsfunc-build/ (inside the repository, so
 * node_modules resolves as from dist/). --jsfunc ROOT runs another build (a directory with
 * package.json and dist/, e.g. a saved baseline); --live-dist runs the repository's dist/.
 */
function jsfuncRoot() {
  if (values.jsfunc !== undefined) return resolve(String(values.jsfunc));
  if (values['live-dist']) return repoRoot;
  const root = join(repoRoot, '.tmp/e2e-jsfunc-build');
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  cpSync(join(repoRoot, 'dist'), join(root, 'dist'), { recursive: true });
  cpSync(join(repoRoot, 'package.json'), join(root, 'package.json'));
  return root;
}
const buildRoot = jsfuncRoot();
const cli = join(buildRoot, 'dist/cli/main.js');
if (!existsSync(cli)) throw new Error(`${cli} is missing`);

// ---------------------------------------------------------------------------------- children

/** /usr/bin/time (GNU) when it works, else /proc polling. */
const gnuTime =
  existsSync('/usr/bin/time') &&
  spawnSync('/usr/bin/time', ['-f', '%M', 'true'], { encoding: 'utf8' }).status === 0;

function readVmHwmKB(pid) {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * Runs `node <args>` as a fresh process: wall ms from spawn to exit, exit code, stdout, the
 * tail of stderr, and the child's peak RSS (MB).
 */
function runNode(args, { timeoutMs = 60 * 60_000 } = {}) {
  return new Promise((resolvePromise) => {
    const rssFile = join(outDir, `.rss-${process.pid}.txt`);
    rmSync(rssFile, { force: true });
    const [cmd, argv] = gnuTime
      ? ['/usr/bin/time', ['-f', '%M', '-o', rssFile, process.execPath, ...args]]
      : [process.execPath, args];
    const t0 = performance.now();
    const child = spawn(cmd, argv, {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // own process group: a timeout kills the whole run
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr = (stderr + d).slice(-4000);
    });
    let polledKB = 0;
    const poll = gnuTime
      ? undefined
      : setInterval(() => {
          polledKB = Math.max(polledKB, readVmHwmKB(child.pid));
        }, 20);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.on('close', (code, signal) => {
      const ms = performance.now() - t0;
      clearTimeout(timer);
      if (poll) clearInterval(poll);
      let rssKB = polledKB;
      if (gnuTime && existsSync(rssFile)) {
        const nums = readFileSync(rssFile, 'utf8')
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => /^\d+$/.test(l));
        if (nums.length) rssKB = Number(nums.at(-1));
        rmSync(rssFile, { force: true });
      }
      resolvePromise({
        ms,
        code: timedOut ? 'timeout' : (code ?? signal),
        stdout,
        stderr,
        peakRssMB: rssKB > 0 ? (rssKB * 1024) / MB : Number.NaN,
      });
    });
  });
}

const jsonSafe = (x) => JSON.stringify(x, (_, v) => (typeof v === 'bigint' ? String(v) : v));

const fileMB = (p) => (existsSync(p) ? round(statSync(p).size / MB, 4) : Number.NaN);

function lastJsonLine(text) {
  const line = text
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .pop();
  try {
    return line === undefined ? undefined : JSON.parse(line);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------- run

function readVersion(dir) {
  try {
    return JSON.parse(readFileSync(join(repoRoot, 'node_modules', dir, 'package.json'), 'utf8'))
      .version;
  } catch {
    return undefined;
  }
}

function newestMtime(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true }))
    if (e.isFile())
      newest = Math.max(newest, statSync(join(e.parentPath ?? e.path, e.name)).mtimeMs);
  return new Date(newest).toISOString();
}

function gitFacts() {
  const git = (...a) => spawnSync('git', a, { cwd: repoRoot, encoding: 'utf8' }).stdout?.trim();
  const dirty = git('status', '--porcelain', '--', 'src');
  return {
    head: git('rev-parse', '--short', 'HEAD'),
    // Uncommitted changes under src/ when the run started (dist/ may hold them, built or not).
    srcDirty: dirty ? dirty.split('\n').length : 0,
    // The build the runs used: its root, and when dist/ was built (newest file).
    buildRoot,
    distBuiltAt: newestMtime(join(buildRoot, 'dist')),
  };
}

mkdirSync(outDir, { recursive: true });
const jsfuncBuild = gitFacts();
process.stderr.write(
  `e2e: jsfunc build ${buildRoot === repoRoot ? 'dist/ (live)' : buildRoot} (dist built ${jsfuncBuild.distBuiltAt}; HEAD ${jsfuncBuild.head}, ${jsfuncBuild.srcDirty} modified files under src/)\n`
);
const inputs = await prepareData(dataDir, vegaParquet, [...new Set(jobs.map((j) => j.input))]);
const inputRows = {};
for (const [name, path] of Object.entries(inputs)) inputRows[name] = await countRows(path);
const model = await modelPath('flights');
process.stderr.write(
  `e2e: ${jobs.length} jobs x ${runs} runs; DuckDB threads=${threads}, jsfunc --workers ${threads} and 1; ` +
    `RSS by ${gnuTime ? '/usr/bin/time' : '/proc polling'}; data ${dataDir}; model ${model}\n`
);

const summarizeRuns = (samples) => {
  const ok = samples.filter((s) => s.code === 0);
  const secs = ok.map((s) => s.ms / 1000);
  return {
    bestS: secs.length ? round(Math.min(...secs), 4) : Number.NaN,
    medianS: secs.length ? round(median(secs), 4) : Number.NaN,
    samplesS: secs.map((s) => round(s, 4)),
    failures: samples.length - ok.length,
    peakRssMB: ok.length ? round(Math.max(...ok.map((s) => s.peakRssMB)), 4) : Number.NaN,
    medianPeakRssMB: ok.length ? round(median(ok.map((s) => s.peakRssMB)), 4) : Number.NaN,
  };
};

// Raw worker threads spinning a CPU loop (lib.spinProbe), run just before each round.
const spin = await spinProbe(threads, 10_000_000);
async function probeParallelism() {
  if (threads === 1) return 1;
  const time = async (k) => {
    const t0 = performance.now();
    await spin.run(k);
    return performance.now() - t0;
  };
  await time(threads); // warm
  const t1 = Math.min(await time(1), await time(1));
  const tk = Math.min(await time(threads), await time(threads));
  return round((threads * t1) / tk, 3);
}

const results = [];
const mismatches = [];
for (const job of jobs) {
  const src = inputs[job.input];
  const duck = DUCKDB_OUT[job.output];
  const refPath = join(outDir, `${job.id}.duckdb.${duck.ext}`);
  const outOf = (w) => join(outDir, `${job.id}.jsfunc-w${w}.${job.output}`);
  const samples = { duckdb: [], w: [], w1: [] };
  const parallelism = [];
  const checks = [];
  const sizes = {};
  const workerCounts = [...new Set([threads, 1])];
  for (let round_ = 0; round_ < runs; round_++) {
    const p = await probeParallelism();
    parallelism.push(p);
    const log = [`e2e ${job.id} run ${round_ + 1}/${runs} (P_${threads}=${p}):`];
    const d = await runNode([
      duckdbChild,
      '--threads',
      String(threads),
      '--format',
      duck.format,
      src,
      refPath,
    ]);
    samples.duckdb.push(d);
    sizes.duckdbMB = fileMB(refPath);
    log.push(`duckdb ${d.code === 0 ? `${(d.ms / 1000).toFixed(2)} s` : `FAILED (${d.code})`}`);
    if (d.code !== 0) process.stderr.write(`${d.stderr}\n`);
    for (const w of workerCounts) {
      const dst = outOf(w);
      const r = await runNode([
        cli,
        'score',
        '-m',
        model,
        '-i',
        src,
        '-o',
        dst,
        '--workers',
        String(w),
        '--json',
      ]);
      r.summary = lastJsonLine(r.stdout);
      if (w === threads) samples.w.push(r);
      if (w === 1) samples.w1.push(r);
      sizes[`jsfuncW${w}MB`] = fileMB(dst);
      let check = { summary: 'not checked' };
      if (r.code !== 0) {
        check = {
          ok: false,
          summary: `FAILED: exit ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`,
        };
      } else if (d.code !== 0) {
        check = { summary: 'not checked (DuckDB run failed)' };
      } else if (checkMode === 'all' || (checkMode === 'first' && round_ === 0)) {
        const t0 = performance.now();
        try {
          check = await compareOutputs(dst, refPath);
        } catch (err) {
          check = { ok: false, summary: `CHECK ERROR: ${err.message.split('\n')[0]}` };
        }
        check.checkS = round((performance.now() - t0) / 1000, 3);
      }
      checks.push({ run: round_ + 1, workers: w, ...check });
      if (check.ok === false) {
        mismatches.push(`${job.label} W=${w} run ${round_ + 1}: ${check.summary}`);
        if (check.sample !== undefined) check.sample = JSON.parse(jsonSafe(check.sample));
        process.stderr.write(
          `\n!!! e2e ${job.id} W=${w}: ${check.summary}\n${check.sample ? `    first differing row: ${jsonSafe(check.sample)}\n` : ''}`
        );
      }
      log.push(
        `jsfunc W=${w} ${r.code === 0 ? `${(r.ms / 1000).toFixed(2)} s, ${Math.round(r.peakRssMB)} MB` : `FAILED (${r.code})`} [${check.summary}]`
      );
      if (!values.keep) rmSync(dst, { force: true });
    }
    process.stderr.write(`${log.join(' ')}\n`);
  }
  if (!values.keep) rmSync(refPath, { force: true });

  const dS = summarizeRuns(samples.duckdb);
  const wS = summarizeRuns(samples.w);
  const w1S = summarizeRuns(samples.w1);
  const rows = inputRows[job.input];
  const big = rows >= BIG_ROWS;
  const checked = checks.filter((c) => c.ok !== undefined);
  const bad = checks.filter((c) => c.ok === false);
  const correct = bad.length
    ? `MISMATCH: ${bad.map((c) => `W=${c.workers} run ${c.run}: ${c.summary}`).join('; ')}`
    : checked.length
      ? `ok (${checked.length}/${checks.length} outputs checked)`
      : 'not checked';
  const ratio = dS.bestS / wS.bestS;
  const speedup = w1S.bestS / wS.bestS;
  results.push({
    job: job.id,
    label: job.label,
    input: job.input,
    inputRows: rows,
    inputMB: fileMB(src),
    output: job.output,
    duckdbProxy: duck.proxy,
    duckdb: { ...dS, outputMB: sizes.duckdbMB },
    jsfuncW: {
      workers: threads,
      ...wS,
      outputMB: sizes[`jsfuncW${threads}MB`],
      summary: samples.w.at(-1)?.summary,
    },
    jsfuncW1: {
      workers: 1,
      ...w1S,
      outputMB: sizes.jsfuncW1MB,
      summary: samples.w1.at(-1)?.summary,
    },
    ratio: round(ratio, 3),
    ratioMedian: round(dS.medianS / wS.medianS, 3),
    speedup: round(speedup, 3),
    speedupMedian: round(w1S.medianS / wS.medianS, 3),
    rowsPerSec: {
      duckdb: round(rows / dS.bestS),
      jsfuncW: round(rows / wS.bestS),
      jsfuncW1: round(rows / w1S.bestS),
    },
    targets: {
      ratio: duck.proxy ? undefined : job.targetRatio,
      speedup: TARGET_SPEEDUP,
      rssMB: big ? TARGET_RSS_MB : undefined,
    },
    met: {
      ratio: duck.proxy || job.targetRatio === undefined ? undefined : ratio >= job.targetRatio,
      speedup: Number.isFinite(speedup) ? speedup >= TARGET_SPEEDUP : false,
      rss: big ? wS.peakRssMB <= TARGET_RSS_MB : undefined,
    },
    correct,
    // Parallelism raw worker threads got just before each round (threads x t1 / t_threads; 2.0
    // = two free cores): how much of W=2 the machine could give at the time.
    machineParallelism: parallelism,
    checks,
  });
}
closeDuckDb();
await spin.close();

const machine = machineInfo();
const payload = {
  description:
    'jsfunc score (fresh process, --workers N and 1) vs DuckDB COPY (fresh process, threads=N) on the same files, same formula; wall time incl. process start, peak RSS of the child',
  runs,
  threads,
  check: checkMode,
  sql: `SET threads=${threads}; COPY (SELECT *, ${E2E_SQL_EXPR} AS prediction FROM src) TO dst (FORMAT ...)`,
  jsfuncCommand: `node dist/cli/main.js score -m <flights package> -i src -o dst --workers N --json`,
  rssMethod: gnuTime ? '/usr/bin/time -f %M' : '/proc/<pid>/status VmHWM polled every 20 ms',
  dataDir,
  jsfuncBuild,
  targets: {
    ratio:
      'jsfunc throughput / DuckDB throughput (DuckDB s / jsfunc s): Parquet->Parquet >= 1.0; CSV->Parquet, Parquet->CSV >= 0.7',
    speedup: `jsfunc W=${threads} >= ${TARGET_SPEEDUP}x W=1`,
    rss: `jsfunc peak RSS <= ${TARGET_RSS_MB} MB on 12M rows`,
  },
  mismatches,
  results,
};
const result = {
  benchmark: 'e2e',
  machine: {
    ...machine,
    loadavgStart,
    versions: {
      ...machine.versions,
      duckdb: readVersion('@duckdb/node-api'),
      vegaDatasets: readVersion('vega-datasets'),
      parquetWasm: readVersion('parquet-wasm'),
    },
  },
  ...payload,
};

table(
  `e2e: jsfunc score vs DuckDB, best of ${runs} fresh processes (ratio = DuckDB s / jsfunc s; > 1 = jsfunc faster)`,
  tableRows(result)
);
writeResults('e2e', { machine: result.machine, ...payload });
console.log(`\n${markdown(result)}`);
if (mismatches.length) {
  console.log(`\n!!! ${mismatches.length} jsfunc output(s) differ from DuckDB's:`);
  for (const m of mismatches) console.log(`!!!   ${m}`);
  process.exitCode = 1;
}
