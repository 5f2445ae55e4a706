#!/usr/bin/env node
// Deterministic sample input for the udf/ examples, written batch by batch (bounded memory):
//
//   npm run build
//   node scripts/generate-sample-data.mjs [--model linear] [--rows 1000000] [--out PATH]
//                                         [--seed 7] [--batch-size 65536]
//
// Columns match each example's input signature:
//   linear, mlp         x0..x9 double, uniform in [-1, 1)
//   noop                x0 double
//   embedding-lookup    id long in [0, 10000) (the table's rows), x double
//   sentiment           text string (4-12 words drawn from the lexicon and fillers), lang en|es
// The same seed and row count give the same values on every machine (mulberry32). The format
// follows the extension of --out: .parquet (default; row count in the footer, so `jsfunc score`
// shows an exact ETA), .arrows/.arrow, .csv or .ndjson. Files go through jsfunc's own
// createBatchWriter (temporary file + rename), so an interrupted run leaves no half file.
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Int64, Table, Utf8, makeData, makeVector, vectorFromArray } from 'apache-arrow';
import { mulberry32 } from '../udf/shared/spec-helpers.mjs';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Examples with a generator, and the defaults. */
export const SAMPLE_MODELS = ['linear', 'mlp', 'noop', 'embedding-lookup', 'sentiment'];
export const DEFAULT_ROWS = 1_000_000;
export const DEFAULT_SEED = 7;

/**
 * Where `npm start` keeps the sample data of an example.
 * @param {string} model example name
 * @param {number} rows row count
 * @param {string} [rootDir=repoRoot]
 * @returns {string} e.g. out/data/linear-1000000.parquet
 */
export function sampleDataPath(model, rows, rootDir = repoRoot) {
  return join(rootDir, 'out', 'data', `${model}-${rows}.parquet`);
}

/**
 * `width` double columns filled row by row (row-major draws, so the values do not depend on
 * the batch size).
 */
function doubleColumns(rng, n, width) {
  const cols = Array.from({ length: width }, () => new Float64Array(n));
  for (let i = 0; i < n; i++) for (let c = 0; c < width; c++) cols[c][i] = rng() * 2 - 1;
  return cols.map((a) => makeVector(a));
}

function sentimentWords(rootDir) {
  const lexicon = JSON.parse(readFileSync(join(rootDir, 'udf/sentiment/lexicon.json'), 'utf8'));
  const byLang = {};
  for (const [lang, table] of Object.entries(lexicon.languages)) {
    const words = [...(table.positive ?? []), ...(table.negative ?? [])].filter(
      (w) => typeof w === 'string'
    );
    byLang[lang] = words;
  }
  return byLang;
}

const FILLERS = [
  'the',
  'movie',
  'food',
  'service',
  'was',
  'really',
  'and',
  'not',
  'very',
  'it',
  'is',
  'this',
];

/**
 * Builds one batch of an example's columns.
 * @param {string} model
 * @param {() => number} rng
 * @param {number} n rows
 * @param {Record<string, string[]> | null} words sentiment vocabulary
 * @returns {import('apache-arrow').RecordBatch}
 */
function makeBatch(model, rng, n, words) {
  switch (model) {
    case 'linear':
    case 'mlp': {
      const cols = doubleColumns(rng, n, 10);
      return new Table(Object.fromEntries(cols.map((v, c) => [`x${c}`, v]))).batches[0];
    }
    case 'noop':
      return new Table({ x0: doubleColumns(rng, n, 1)[0] }).batches[0];
    case 'embedding-lookup': {
      const ids = new BigInt64Array(n);
      const xs = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        ids[i] = BigInt(Math.floor(rng() * 10_000));
        xs[i] = rng() * 2 - 1;
      }
      const id = makeVector(makeData({ type: new Int64(), length: n, data: ids }));
      return new Table({ id, x: makeVector(xs) }).batches[0];
    }
    case 'sentiment': {
      const langs = Object.keys(words);
      const texts = new Array(n);
      const langCol = new Array(n);
      for (let i = 0; i < n; i++) {
        const lang = langs[Math.floor(rng() * langs.length)];
        const vocab = words[lang];
        const len = 4 + Math.floor(rng() * 9);
        const parts = new Array(len);
        for (let k = 0; k < len; k++) {
          parts[k] =
            rng() < 0.3
              ? vocab[Math.floor(rng() * vocab.length)]
              : FILLERS[Math.floor(rng() * FILLERS.length)];
        }
        texts[i] = parts.join(' ');
        langCol[i] = lang;
      }
      return new Table({
        text: vectorFromArray(texts, new Utf8()),
        lang: vectorFromArray(langCol, new Utf8()),
      }).batches[0];
    }
    default:
      throw new Error(
        `No sample data generator for "${model}"; expected one of: ${SAMPLE_MODELS.join(', ')}`
      );
  }
}

/**
 * Writes a sample dataset, batch by batch.
 * @param {{ model?: string, rows?: number, out?: string, seed?: number, batchSize?: number, rootDir?: string }} [options]
 * @returns {Promise<{ path: string, rows: number, seconds: number }>}
 */
export async function generateSampleData(options = {}) {
  const model = options.model ?? 'linear';
  const rows = options.rows ?? DEFAULT_ROWS;
  const rootDir = options.rootDir ?? repoRoot;
  const batchSize = options.batchSize ?? 65_536;
  const out = resolve(options.out ?? sampleDataPath(model, rows, rootDir));
  if (!SAMPLE_MODELS.includes(model)) {
    throw new Error(
      `No sample data generator for "${model}"; expected one of: ${SAMPLE_MODELS.join(', ')}`
    );
  }
  if (!Number.isInteger(rows) || rows < 0)
    throw new Error(`rows must be a non-negative integer, found ${rows}`);
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error(`batchSize must be a positive integer, found ${batchSize}`);
  const writerModule = join(rootDir, 'dist/io/write-batches.js');
  const { createBatchWriter } = await import(pathToFileURL(writerModule).href).catch((e) => {
    throw new Error(`${writerModule} is missing: run "npm run build" first (${e.message})`);
  });
  const started = performance.now();
  mkdirSync(dirname(out), { recursive: true });
  const rng = mulberry32(options.seed ?? DEFAULT_SEED);
  const words = model === 'sentiment' ? sentimentWords(rootDir) : null;
  const writer = createBatchWriter(out, {
    schema: makeBatch(model, mulberry32(0), 0, words).schema,
  });
  try {
    for (let done = 0; done < rows;) {
      const n = Math.min(batchSize, rows - done);
      await writer.write(makeBatch(model, rng, n, words));
      done += n;
    }
    await writer.close();
  } catch (e) {
    await writer.abort();
    throw e;
  }
  return { path: out, rows, seconds: (performance.now() - started) / 1000 };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: 'linear' },
      rows: { type: 'string', default: String(DEFAULT_ROWS) },
      out: { type: 'string' },
      seed: { type: 'string', default: String(DEFAULT_SEED) },
      'batch-size': { type: 'string', default: '65536' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(
      'usage: node scripts/generate-sample-data.mjs [--model linear|mlp|noop|embedding-lookup|sentiment] ' +
        '[--rows N] [--out PATH(.parquet|.arrows|.csv|.ndjson)] [--seed S] [--batch-size N]'
    );
  } else {
    try {
      const r = await generateSampleData({
        model: values.model,
        rows: Number(values.rows),
        out: values.out,
        seed: Number(values.seed),
        batchSize: Number(values['batch-size']),
      });
      console.log(`wrote ${r.rows} rows to ${r.path} in ${r.seconds.toFixed(2)} s`);
    } catch (e) {
      console.error(`generate-sample-data: ${e?.code ? `${e.code}: ` : ''}${e?.message ?? e}`);
      process.exitCode = 1;
    }
  }
}
