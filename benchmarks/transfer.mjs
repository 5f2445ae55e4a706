// Measures the cost of moving an Arrow batch to a worker thread and a result column back.
//
// Run after a build:  npx tsc -p tsconfig.build.json && node benchmarks/transfer.mjs [--quick]
//
// For two batches (65,536 x 10 Float64; a 65,536-row Utf8 column) and four ways across the
// boundary, one round trip = encode on the main thread -> postMessage -> decode in the worker
// -> a trivial computation over the input -> a 65,536-row Float64 result through the same way
// -> postMessage -> decode on the main thread:
//   (a) ipc       tableToIPC / tableFromIPC, bytes on the transfer list (both directions)
//   (b) shared    encodeTable / encodeVector into a SharedArrayBuffer (posted, not copied)
//   (c) transfer  encodeTable / encodeVector into an ArrayBuffer on the transfer list
//   (d) clone     the raw typed arrays posted by structured clone (copied), no Arrow on the wire
// Methods are interleaved round by round; the table reports medians and ratios to (a).
// Results go to benchmarks/results/transfer.json.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import * as arrow from 'apache-arrow';
import {
  decodeTable,
  decodeVector,
  encodeTable,
  encodeVector,
  transferListOf,
} from '../dist/pool/transfer.js';

const ROWS = 65_536;

/** The per-method work inside the worker: decode, compute y, encode y; returns [reply, transfer]. */
function workerSide(msg) {
  const compute = (columns) => {
    const y = new Float64Array(ROWS);
    if (msg.dataset === 'float64x10') {
      const a = columns[0];
      const b = columns[columns.length - 1];
      for (let i = 0; i < ROWS; i++) y[i] = a[i] + b[i];
    } else {
      const [offsets] = columns;
      for (let i = 0; i < ROWS; i++) y[i] = offsets[i + 1] - offsets[i];
    }
    return y;
  };
  const columnsOf = (table) =>
    msg.dataset === 'float64x10'
      ? table.schema.fields.map((_, j) => table.getChildAt(j).data[0].values)
      : [table.getChildAt(0).data[0].valueOffsets];
  switch (msg.method) {
    case 'ipc': {
      const y = compute(columnsOf(arrow.tableFromIPC(msg.payload)));
      const bytes = arrow.tableToIPC(new arrow.Table({ y: arrow.makeVector(y) }), 'stream');
      return [bytes, [bytes.buffer]];
    }
    case 'shared':
    case 'transfer': {
      const y = compute(columnsOf(decodeTable(msg.payload)));
      const wire = encodeVector(arrow.makeVector(y), { shared: msg.method === 'shared' });
      return [wire, transferListOf(wire)];
    }
    case 'clone':
      return [compute(msg.payload), []];
    default:
      throw new Error(`unknown method ${msg.method}`);
  }
}

function makeDatasets() {
  const float = {};
  for (let c = 0; c < 10; c++) {
    float[`c${c}`] = Float64Array.from({ length: ROWS }, (_, i) => Math.sin(i * (c + 1)));
  }
  const strings = Array.from({ length: ROWS }, (_, i) => `row-${i}-${'x'.repeat(i % 17)}-ü`);
  return {
    float64x10: arrow.tableFromArrays(float),
    utf8: new arrow.Table({ s: arrow.vectorFromArray(strings, new arrow.Utf8()) }),
  };
}

/** Main-thread side of one method: [payload, transferList] out, result vector back. */
const METHODS = {
  ipc: {
    send: (table) => {
      const bytes = arrow.tableToIPC(table, 'stream');
      return [bytes, [bytes.buffer]];
    },
    receive: (reply) => arrow.tableFromIPC(reply).getChildAt(0),
  },
  shared: {
    send: (table) => [encodeTable(table, { shared: true }), []],
    receive: (reply) => decodeVector(reply),
  },
  transfer: {
    send: (table) => {
      const wire = encodeTable(table, { shared: false });
      return [wire, transferListOf(wire)];
    },
    receive: (reply) => decodeVector(reply),
  },
  clone: {
    send: (table, dataset) => {
      const payload =
        dataset === 'float64x10'
          ? table.schema.fields.map((_, j) => table.getChildAt(j).data[0].values)
          : [table.getChildAt(0).data[0].valueOffsets, table.getChildAt(0).data[0].values];
      return [payload, []];
    },
    receive: (reply) => arrow.makeVector(reply),
  },
};

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

async function main() {
  const quick = process.argv.includes('--quick');
  const rounds = quick ? 4 : 15;
  const perRound = quick ? 5 : 10;
  const warmup = quick ? 5 : 30;
  const datasets = makeDatasets();
  const worker = new Worker(new URL(import.meta.url));
  let resolveReply;
  worker.on('message', (m) => resolveReply(m));
  worker.on('error', (e) => {
    console.error(e);
    process.exit(1);
  });

  async function roundTrip(dataset, method) {
    const table = datasets[dataset];
    const t0 = performance.now();
    const [payload, transfer] = METHODS[method].send(table, dataset);
    const reply = new Promise((resolve) => (resolveReply = resolve));
    worker.postMessage({ dataset, method, payload }, transfer);
    const result = METHODS[method].receive(await reply);
    const ms = performance.now() - t0;
    // Check the answer so a broken path cannot look fast.
    const y = result.get(ROWS - 1);
    const expected =
      dataset === 'float64x10'
        ? table.getChild('c0').get(ROWS - 1) + table.getChild('c9').get(ROWS - 1)
        : Buffer.byteLength(table.getChild('s').get(ROWS - 1));
    if (result.length !== ROWS || Math.abs(y - expected) > 1e-9) {
      throw new Error(`${dataset}/${method}: wrong result ${y} (expected ${expected})`);
    }
    return ms;
  }

  const samples = {};
  for (const dataset of Object.keys(datasets)) {
    for (const method of Object.keys(METHODS)) {
      samples[`${dataset}/${method}`] = [];
      for (let i = 0; i < warmup; i++) await roundTrip(dataset, method);
    }
  }
  for (let r = 0; r < rounds; r++) {
    for (const dataset of Object.keys(datasets)) {
      for (const method of Object.keys(METHODS)) {
        for (let i = 0; i < perRound; i++)
          samples[`${dataset}/${method}`].push(await roundTrip(dataset, method));
      }
    }
  }
  await worker.terminate();

  const rows = [];
  for (const dataset of Object.keys(datasets)) {
    const base = median(samples[`${dataset}/ipc`]);
    const table = datasets[dataset];
    const inputBytes = table.batches.reduce(
      (n, b) => n + b.data.children.reduce((m, c) => m + c.byteLength, 0),
      0
    );
    for (const method of Object.keys(METHODS)) {
      const xs = samples[`${dataset}/${method}`];
      const med = median(xs);
      rows.push({
        dataset,
        method,
        inputMB: +(inputBytes / 2 ** 20).toFixed(2),
        medianMs: +med.toFixed(3),
        p25Ms: +quantile(xs, 0.25).toFixed(3),
        p75Ms: +quantile(xs, 0.75).toFixed(3),
        vsIpc: +(med / base).toFixed(2),
        samples: xs.length,
      });
    }
  }
  console.table(rows);

  const require = createRequire(import.meta.url);
  const report = {
    benchmark: 'transfer',
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    apacheArrow: JSON.parse(
      readFileSync(join(dirname(require.resolve('apache-arrow')), 'package.json'), 'utf8')
    ).version,
    rows: ROWS,
    roundTrip:
      'encode -> post -> worker decode + trivial compute -> 65,536-row Float64 result -> post -> decode',
    rounds,
    perRound,
    warmup,
    results: rows,
  };
  const dir = new URL('./results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL('transfer.json', dir), JSON.stringify(report, null, 2) + '\n');
  console.log(`wrote ${new URL('transfer.json', dir).pathname}`);
}

if (!isMainThread) {
  parentPort.on('message', (msg) => {
    const [reply, transfer] = workerSide(msg);
    parentPort.postMessage(reply, transfer);
  });
} else {
  await main();
}
