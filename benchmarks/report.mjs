// Renders benchmarks/results/*.json as markdown tables into benchmarks/README.md, between the
// markers `<!-- results:start -->` and `<!-- results:end -->` (the prose outside is kept).
//
//   node benchmarks/report.mjs          (run-all.mjs calls it after the benchmarks)
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchDir, resultsDir } from './lib.mjs';

const START = '<!-- results:start -->';
const END = '<!-- results:end -->';

function md(rows, columns) {
  const head = `| ${columns.map(([h]) => h).join(' | ')} |`;
  const sep = `| ${columns.map(() => '---').join(' | ')} |`;
  const body = rows.map((r) => `| ${columns.map(([, f]) => String(f(r) ?? '')).join(' | ')} |`);
  return [head, sep, ...body].join('\n');
}

const fmt = (x) =>
  typeof x !== 'number'
    ? (x ?? '')
    : Number.isInteger(x) && Math.abs(x) < 1e8
      ? x.toLocaleString('en-US')
      : x.toLocaleString('en-US', { maximumSignificantDigits: 3 });

const sections = {
  scaling: (r) => [
    `### 1. Scaling (batchSize ${r.batchSize}, medians of ${r.reps})`,
    md(r.results, [
      ['model', (x) => x.model],
      ['variant', (x) => x.variant],
      ['rows', (x) => fmt(x.rows)],
      ['median ms', (x) => fmt(x.medianMs)],
      ['rows/s', (x) => fmt(x.rowsPerSec)],
      ['vs own predict', (x) => fmt(x.vsOwn)],
      ['udf / (W x own)', (x) => fmt(x.efficiency)],
      ['rate / (W x W=1)', (x) => fmt(x.vsW1)],
      ['rate / (P_W x own)', (x) => fmt(x.vsMachine)],
      ['tasks per call', (x) => fmt(x.tasksPerCall)],
    ]),
    '',
    `Parallelism raw worker threads got from the machine in the same rounds (P_W = W x t1 / tW; 2 on two idle cores): ${(
      r.machineParallelism ?? []
    )
      .map(
        (p) =>
          `${p.model} ${Object.entries(p)
            .filter(([k]) => k !== 'model')
            .map(([k, v]) => `${k.replace('parallelism', 'P_')}=${v}`)
            .join(', ')}`
      )
      .join('; ')}`,
  ],
  overhead: (r) => [
    `### 2. Per-batch overhead, noop model (${fmt(r.rows)} rows, medians of ${r.reps})`,
    md(r.results, [
      ['batch rows', (x) => fmt(x.batchRows)],
      ['W', (x) => x.workers],
      ['tasks', (x) => x.tasks],
      ['direct ms', (x) => fmt(x.directMs)],
      ['udf ms', (x) => fmt(x.udfMs)],
      ['overhead µs / batch', (x) => fmt(x.overheadUsPerBatch)],
      ['overhead ns / row', (x) => fmt(x.overheadNsPerRow)],
    ]),
  ],
  'load-once': (r) => [
    `### 3. Load once: embedding-lookup, W=${r.workers} (medians of ${r.reps})`,
    md(
      r.results.filter((x) => x.medianMs !== undefined),
      [
        ['variant', (x) => x.variant],
        ['batches x rows', (x) => `${x.batches} x ${fmt(x.batchRows)}`],
        ['median ms', (x) => fmt(x.medianMs)],
        ['ms / batch', (x) => fmt(x.msPerBatch)],
        ['model loads / run', (x) => fmt(x.loadsPerRun)],
        ['time vs udf warm', (x) => fmt(x.vsUdfWarm)],
      ]
    ),
  ],
  memory: (r) => [
    `### 4. Memory: embedding-lookup, ${r.batches} x ${fmt(r.batchRows)} rows (median of ${r.reps} fresh processes)`,
    md(r.results, [
      ['variant', (x) => x.variant],
      ['max RSS MB', (x) => fmt(x.maxRssMB)],
      ['over baseline MB', (x) => fmt(x.overBaselineMB)],
      ['per worker MB', (x) => fmt(x.overBaselinePerWorkerMB)],
    ]),
  ],
  'cold-start': (r) => [
    `### 5. Cold start (median of ${r.reps} fresh processes)`,
    md(r.results, [
      ['model', (x) => x.model],
      ['variant', (x) => x.variant],
      ['first result ms', (x) => fmt(x.firstResultMs)],
      ['setup ms (loadModel / sparkUdf())', (x) => fmt(x.setupMs)],
      ['vs main', (x) => fmt(x.vsMain)],
    ]),
  ],
  dataframe: (r) => [
    `### 6. Dataframe path (medians of ${r.reps}; row-wise variants on ${fmt(r.rowWiseRows)} rows)`,
    md(r.results, [
      ['model', (x) => x.model],
      ['variant', (x) => x.variant],
      ['rows', (x) => fmt(x.rows)],
      ['median ms', (x) => fmt(x.medianMs)],
      ['rows/s', (x) => fmt(x.rowsPerSec)],
      ['vs arrow withColumn', (x) => fmt(x.vsArrowWithColumn)],
    ]),
  ],
};

/** Markdown of every results file present, in benchmark order. */
export function renderResults() {
  const parts = [];
  let machine;
  for (const [name, render] of Object.entries(sections)) {
    const file = join(resultsDir, `${name}.json`);
    if (!existsSync(file)) continue;
    const r = JSON.parse(readFileSync(file, 'utf8'));
    machine ??= r.machine;
    parts.push(
      ...render(r),
      '',
      `<sub>${r.machine.date}, load average ${r.machine.loadavg1}</sub>`,
      ''
    );
  }
  if (machine !== undefined) {
    const v = machine.versions;
    parts.unshift(
      `Machine: ${machine.cpuModel}, ${machine.cpus} CPUs (availableParallelism ${machine.availableParallelism}), ` +
        `Node ${machine.node}, apache-arrow ${v.apacheArrow}, tinypool ${v.tinypool}, danfojs-node ${v.danfojs}, jsfunc ${v.jsfunc}.`,
      ''
    );
  }
  return parts.join('\n');
}

/** Replaces the results block of benchmarks/README.md (appends one when absent). */
export function updateReadme() {
  const path = join(benchDir, 'README.md');
  const text = existsSync(path) ? readFileSync(path, 'utf8') : `# Benchmarks\n\n${START}\n${END}\n`;
  const block = `${START}\n${renderResults()}\n${END}`;
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  const next =
    a >= 0 && b > a
      ? `${text.slice(0, a)}${block}${text.slice(b + END.length)}`
      : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(path, next);
  return path;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(`updated ${updateReadme()}`);
