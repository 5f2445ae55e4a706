// Serve: requests/s and latency of `jsfunc serve` over loopback HTTP, the main-thread mode (the
// default, MLflow's model: one predict per request on the event loop) against the worker pool
// (`--workers W`: concurrent requests merged into batches), for a trivial model (linear, 10-row
// requests) and a compute-heavy one (mlp, 100-row requests), at 1 / 16 / 64 connections; plus
// the p99 of `GET /ping` while the server is under full load.
//
//   node benchmarks/serve.mjs [--quick] [--reps N] [--duration-ms N] [--conc 1,16,64]
//        [--models linear,mlp] [--workers W] [--rows-trivial N] [--rows-heavy N]
//        [--baseline DIR]        also serve from another build (DIR/dist), main-thread mode
//   node benchmarks/serve.mjs --report   print results/serve.json as a markdown table
//
// How it is measured (autocannon is not installed; this is a small equivalent):
// - each server is a child process (`--child-server`: `serve(path, { port: 0, workers })` from
//   dist/), so the load generator never shares the server's event loop. All servers of a model
//   run side by side; only the one being measured has traffic.
// - the load generator (this process) keeps C keep-alive connections (node:http Agent, maxSockets
//   C) each sending the same pre-serialized JSON body back to back, for `--duration-ms` after a
//   300 ms warm-up, bounded by `--max-requests`; latency = send to end of response, per request.
//   Only 127.0.0.1.
// - at the highest connection count a separate probe process (`--ping-probe`) sends `GET /ping`
//   every 5 ms on its own connection and reports its latencies (the client's own event loop,
//   busy with C connections, would otherwise inflate them).
// - rounds are interleaved (every mode once per round, per model and connection count) so the
//   noise of this shared machine hits all alike; tables show medians over `--reps` rounds.
//
// Targets (issue 10): heavy model `pool rps >= 0.9 x W x main rps` (at 16 and 64 connections;
// one connection has nothing to run in parallel), /ping p99 < 10 ms under full load with the
// pool, trivial model not slower than before in the default mode (`--baseline` measures the
// previous build side by side). On 2 cores the load generator and the server's main thread
// compete with the W workers for CPU, which caps the pool's ratio below W: the table's "CPU
// ceiling vs main" is the ratio the machine allows given the measured server and client CPU
// per request (see cpuCeiling), so a miss can be told apart from a pool overhead.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { platform } from 'node:os';
import { Agent, request } from 'node:http';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import {
  benchDir,
  cores,
  flags,
  list,
  median,
  modelPath,
  num,
  quantile,
  repoRoot,
  resultsDir,
  round,
  spinProbe,
  table,
  writeResults,
} from './lib.mjs';

const values = flags({
  conc: { type: 'string' },
  models: { type: 'string' },
  workers: { type: 'string' },
  'duration-ms': { type: 'string' },
  'max-requests': { type: 'string' },
  'rows-trivial': { type: 'string' },
  'rows-heavy': { type: 'string' },
  baseline: { type: 'string' },
  report: { type: 'boolean' },
  'child-server': { type: 'boolean' },
  'ping-probe': { type: 'boolean' },
  model: { type: 'string' },
  dist: { type: 'string' },
  url: { type: 'string' },
});

if (values['child-server'] === true) await childServer();
else if (values['ping-probe'] === true) await pingProbe();
else if (values.report === true) report();
else await main();

// ------------------------------------------------------------------------------ child: server

/** `--child-server --model P --workers W [--dist DIR]`: serves, prints {url}, obeys stdin. */
async function childServer() {
  const dist = resolve(values.dist ?? join(repoRoot, 'dist'));
  const { serve } = await import(pathToFileURL(join(dist, 'server/listen.js')).href);
  const workers = Number(values.workers ?? 0);
  const server = await serve(values.model, {
    port: 0,
    host: '127.0.0.1',
    ...(workers > 0 ? { workers } : {}),
    warn: () => undefined,
    log: () => undefined,
  });
  process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'stats') {
      process.stdout.write(`${JSON.stringify({ stats: server.stats?.() ?? null })}\n`);
    } else if (line === 'close') {
      break;
    }
  }
  await server.close();
  process.exit(0);
}

// ------------------------------------------------------------------------------ child: ping

/** `--ping-probe --url U`: GET /ping every 5 ms until stdin says stop; prints latencies. */
async function pingProbe() {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const latencies = [];
  let stop = false;
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (l) => {
    if (l === 'stop') stop = true;
  });
  process.stdout.write('ready\n');
  while (!stop) {
    const t0 = performance.now();
    const status = await send(agent, `${values.url}/ping`, 'GET', null);
    if (status === 200) latencies.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 5));
  }
  agent.destroy();
  process.stdout.write(`${JSON.stringify({ latencies })}\n`);
  process.exit(0);
}

// ------------------------------------------------------------------------------ HTTP

/** One request; resolves with the status (0 on a transport error or the 10 s timeout). */
function send(agent, url, method, body) {
  return new Promise((resolveStatus) => {
    const req = request(
      url,
      {
        method,
        agent,
        headers:
          body === null
            ? {}
            : { 'content-type': 'application/json', 'content-length': body.length },
      },
      (res) => {
        res.on('data', () => undefined);
        res.on('end', () => resolveStatus(res.statusCode ?? 0));
        res.on('error', () => resolveStatus(0));
      }
    );
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', () => resolveStatus(0));
    req.end(body ?? undefined);
  });
}

/** C connections sending `body` back to back for `ms` (bounded by `maxRequests`). */
async function load(url, body, connections, ms, maxRequests) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const latencies = [];
  let sent = 0;
  let errors = 0;
  const deadline = performance.now() + ms;
  const loop = async () => {
    while (sent < maxRequests && performance.now() < deadline) {
      sent++;
      const t0 = performance.now();
      const status = await send(agent, url, 'POST', body);
      if (status === 200) latencies.push(performance.now() - t0);
      else errors++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: connections }, loop));
  const elapsed = performance.now() - t0;
  agent.destroy();
  return {
    requests: latencies.length,
    errors,
    rps: latencies.length / (elapsed / 1000),
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
  };
}

// ------------------------------------------------------------------------------ processes

/** Starts a child server; resolves with {url, stats(), close()}. */
function startServer(model, workers, dist) {
  const child = spawn(
    process.execPath,
    [
      join(benchDir, 'serve.mjs'),
      '--child-server',
      '--model',
      model,
      '--workers',
      String(workers),
      ...(dist ? ['--dist', dist] : []),
    ],
    { cwd: repoRoot, stdio: ['pipe', 'pipe', 'inherit'] }
  );
  const lines = createInterface({ input: child.stdout });
  const waiting = [];
  lines.on('line', (line) => {
    if (!line.startsWith('{')) return;
    waiting.shift()?.(JSON.parse(line));
  });
  const next = () => new Promise((r) => waiting.push(r));
  const exited = new Promise((r) => child.once('exit', r));
  return next().then(({ url }) => ({
    url,
    pid: child.pid,
    stats: () => {
      child.stdin.write('stats\n');
      return next().then((m) => m.stats);
    },
    close: async () => {
      child.stdin.end('close\n');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  }));
}

/** Starts the /ping probe process; `stop()` resolves with its latencies. */
function startPingProbe(url) {
  const child = spawn(
    process.execPath,
    [join(benchDir, 'serve.mjs'), '--ping-probe', '--url', url],
    {
      cwd: repoRoot,
      stdio: ['pipe', 'pipe', 'inherit'],
    }
  );
  const lines = createInterface({ input: child.stdout });
  let onReady;
  let onResult;
  const ready = new Promise((r) => (onReady = r));
  const result = new Promise((r) => (onResult = r));
  lines.on('line', (line) => {
    if (line === 'ready') onReady();
    else if (line.startsWith('{')) onResult(JSON.parse(line).latencies);
  });
  return ready.then(() => ({
    stop: () => {
      child.stdin.end('stop\n');
      return result;
    },
  }));
}

/**
 * CPU milliseconds a process has used (all its threads; Linux /proc), or NaN elsewhere: per
 * request it tells the modes' cost apart from what a shared machine lets them have.
 */
function processCpuMs(pid) {
  if (platform() !== 'linux') return Number.NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms (USER_HZ 100)
  } catch {
    return Number.NaN;
  }
}

// ------------------------------------------------------------------------------ main

function requestBody(rows, seed) {
  let a = seed;
  const rnd = () => {
    a = (a * 16807) % 2147483647;
    return a / 2147483647;
  };
  const records = Array.from({ length: rows }, () =>
    Object.fromEntries(Array.from({ length: 10 }, (_, c) => [`x${c}`, rnd() * 2 - 1]))
  );
  return Buffer.from(JSON.stringify({ dataframe_records: records }));
}

async function main() {
  const reps = num(values, 'reps', 3, 1);
  const durationMs = num(values, 'duration-ms', 2000, 700);
  const warmMs = 300;
  const maxRequests = num(values, 'max-requests', 200_000);
  const concurrency = list(values, 'conc', ['1', '16', '64']).map(Number);
  const W = num(values, 'workers', cores);
  const modelNames = list(values, 'models', ['linear', 'mlp']);
  const rowsOf = {
    linear: num(values, 'rows-trivial', 10),
    noop: num(values, 'rows-trivial', 10),
    mlp: num(values, 'rows-heavy', 100),
  };
  const baseline = values.baseline === undefined ? undefined : resolve(values.baseline, 'dist');
  if (baseline !== undefined && !existsSync(join(baseline, 'server/listen.js'))) {
    throw new Error(`--baseline: ${baseline}/server/listen.js is missing`);
  }
  const modes = [
    ...(baseline ? [{ name: 'main (baseline build)', workers: 0, dist: baseline }] : []),
    { name: 'main thread', workers: 0 },
    ...(W > 1 ? [{ name: 'pool W=1', workers: 1 }] : []),
    { name: `pool W=${W}`, workers: W },
  ];
  const full = Math.max(...concurrency);
  const samples = new Map();
  const key = (m, mode, c) => `${m}|${mode}|${c}`;
  const servers = {};
  // How much parallelism the shared machine gives right now: raw threads spinning a CPU loop
  // (P_W = W x t1 / tW; W on W idle cores), measured before every (model, connections) group.
  const spin = await spinProbe(W, 5_000_000);
  const parallelism = [];
  const measureParallelism = async () => {
    let t0 = performance.now();
    await spin.run(1);
    const t1 = performance.now() - t0;
    t0 = performance.now();
    await spin.run(W);
    parallelism.push((W * t1) / (performance.now() - t0));
  };
  try {
    for (const m of modelNames) {
      const path = await modelPath(m);
      servers[m] = {};
      for (const mode of modes) {
        servers[m][mode.name] = await startServer(path, mode.workers, mode.dist);
      }
    }
    for (let round = 0; round < reps; round++) {
      for (const m of modelNames) {
        const body = requestBody(rowsOf[m] ?? 10, 7 + round);
        for (const c of concurrency) {
          await measureParallelism();
          for (const mode of modes) {
            const server = servers[m][mode.name];
            const url = `${server.url}/invocations`;
            await load(url, body, c, warmMs, maxRequests);
            const before = mode.workers > 0 ? await server.stats() : null;
            const probe = c === full ? await startPingProbe(server.url) : null;
            const cpu0 = processCpuMs(server.pid);
            const client0 = process.cpuUsage();
            const r = await load(url, body, c, durationMs, maxRequests);
            const serverCpu = processCpuMs(server.pid) - cpu0;
            const client = process.cpuUsage(client0);
            const pings = probe ? await probe.stop() : null;
            const after = mode.workers > 0 ? await server.stats() : null;
            const s = samples.get(key(m, mode.name, c)) ?? [];
            s.push({
              ...r,
              serverCpuMs: serverCpu / Math.max(1, r.requests),
              clientCpuMs: (client.user + client.system) / 1000 / Math.max(1, r.requests),
              pingP50: pings ? quantile(pings, 0.5) : undefined,
              pingP99: pings ? quantile(pings, 0.99) : undefined,
              pings: pings?.length,
              requestsPerCall:
                before && after && after.predictCalls > before.predictCalls
                  ? (after.requests - before.requests) / (after.predictCalls - before.predictCalls)
                  : undefined,
            });
            samples.set(key(m, mode.name, c), s);
            process.stderr.write(
              `${m} ${mode.name} c=${c}: ${Math.round(r.rps)} req/s, p99 ${r.p99.toFixed(1)} ms${r.errors ? `, ${r.errors} errors` : ''}\n`
            );
          }
        }
      }
    }
  } finally {
    await spin.close();
    for (const byMode of Object.values(servers)) {
      for (const server of Object.values(byMode)) await server.close();
    }
  }
  const machineParallelism = round(median(parallelism), 3);
  console.log(
    `\nP_${W} (parallelism raw threads got, median of ${parallelism.length}): ${machineParallelism}`
  );

  const results = [];
  for (const m of modelNames) {
    for (const c of concurrency) {
      const mainRps = median(samples.get(key(m, 'main thread', c)).map((s) => s.rps));
      for (const mode of modes) {
        const s = samples.get(key(m, mode.name, c));
        const pick = (f) => {
          const xs = s.map(f).filter((x) => x !== undefined);
          return xs.length === 0 ? undefined : round(median(xs), 3);
        };
        const rps = median(s.map((x) => x.rps));
        results.push({
          model: m,
          rows: rowsOf[m] ?? 10,
          mode: mode.name,
          workers: mode.workers,
          connections: c,
          rps: round(rps, 3),
          p50Ms: pick((x) => x.p50),
          p99Ms: pick((x) => x.p99),
          vsMain: round(rps / mainRps, 3),
          efficiency: mode.workers > 0 ? round(rps / (mode.workers * mainRps), 3) : undefined,
          pingP50Ms: pick((x) => x.pingP50),
          pingP99Ms: pick((x) => x.pingP99),
          requestsPerCall: pick((x) => x.requestsPerCall),
          serverCpuMsPerRequest: pick((x) =>
            Number.isNaN(x.serverCpuMs) ? undefined : x.serverCpuMs
          ),
          clientCpuMsPerRequest: pick((x) => x.clientCpuMs),
          errors: s.reduce((a, x) => a + x.errors, 0),
        });
      }
    }
  }
  table(
    `serve: req/s and latency (medians of ${reps} rounds of ${durationMs} ms; W=${W}; ${cores} cores)`,
    results.map((r) => ({
      model: `${r.model} (${r.rows} rows)`,
      mode: r.mode,
      conns: r.connections,
      'req/s': Math.round(r.rps),
      'p50 ms': r.p50Ms,
      'p99 ms': r.p99Ms,
      'vs main': r.vsMain,
      'rps/(W x main)': r.efficiency ?? '',
      'ping p99 ms': r.pingP99Ms ?? '',
      'req/call': r.requestsPerCall ?? '',
      'server CPU ms/req': r.serverCpuMsPerRequest ?? '',
    }))
  );
  writeResults('serve', {
    reps,
    durationMs,
    warmMs,
    workers: W,
    concurrency,
    rows: rowsOf,
    baseline: baseline ?? null,
    machineParallelism,
    parallelismSamples: parallelism.map((p) => round(p, 3)),
    results,
  });
  console.log(markdown(results, W, machineParallelism));
}

// ------------------------------------------------------------------------------ report

/**
 * The most a pool mode could reach against the main thread on `cores` cores shared with the
 * load generator, from the CPU each request cost: the pool is bounded by
 * `cores / (server + client CPU per request)`, the main thread by one thread's worth of server
 * CPU (and the same shared bound). A pool ratio near this ceiling is all the machine allows.
 */
function cpuCeiling(r, results, cores) {
  const main = results.find(
    (m) => m.model === r.model && m.connections === r.connections && m.mode === 'main thread'
  );
  const cost = (x) => x.serverCpuMsPerRequest + x.clientCpuMsPerRequest;
  if (r.workers === 0 || main === undefined || !(cost(r) > 0) || !(cost(main) > 0))
    return undefined;
  const poolMax = Math.min((r.workers * 1000) / r.serverCpuMsPerRequest, (cores * 1000) / cost(r));
  const mainMax = Math.min(1000 / main.serverCpuMsPerRequest, (cores * 1000) / cost(main));
  return round(poolMax / mainMax, 2);
}

function markdown(results, W, parallelism, cpus = cores) {
  const head =
    '| model | mode | conns | req/s | p50 ms | p99 ms | vs main | rps / (W x main) | CPU ceiling vs main | /ping p99 ms | requests per predict call | server CPU ms / request | client CPU ms / request |';
  const sep = '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |';
  const fmt = (x) => (x === undefined || x === null ? '' : String(x));
  const rows = results.map(
    (r) =>
      `| ${r.model} (${r.rows} rows) | ${r.mode} | ${r.connections} | ${Math.round(r.rps).toLocaleString('en-US')} | ${fmt(r.p50Ms)} | ${fmt(r.p99Ms)} | ${fmt(r.vsMain)} | ${fmt(r.efficiency)} | ${fmt(cpuCeiling(r, results, cpus))} | ${fmt(r.pingP99Ms)} | ${fmt(r.requestsPerCall)} | ${fmt(r.serverCpuMsPerRequest)} | ${fmt(round(r.clientCpuMsPerRequest, 3))} |`
  );
  const note =
    parallelism === undefined ? '' : `; P_${W} = ${parallelism} (parallelism raw threads got)`;
  return [`\nW=${W}${note}`, head, sep, ...rows].join('\n');
}

function report() {
  const path = join(resultsDir, 'serve.json');
  if (!existsSync(path)) throw new Error(`${path} is missing: run node benchmarks/serve.mjs first`);
  const r = JSON.parse(readFileSync(path, 'utf8'));
  console.log(markdown(r.results, r.workers, r.machineParallelism, r.machine.cpus));
  console.log(
    `\n<sub>${r.machine.date}, ${r.machine.cpus} CPUs, Node ${r.machine.node}, load average ${r.machine.loadavg1}; medians of ${r.reps} rounds of ${r.durationMs} ms</sub>`
  );
}
