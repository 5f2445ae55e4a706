import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Float64, Table, Utf8, makeVector, vectorFromArray, type RecordBatch } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { readBatches } from '../../src/io/read-batches.js';
import { createBatchWriter } from '../../src/io/write-batches.js';
import { loadModel } from '../../src/package/load-model.js';
import { cli, collect, listDir, packageExample, rowsOf, tempDir } from './helpers.js';

const features = ['x0', 'x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7', 'x8', 'x9'];
const N = 2500;

let dir: string;
let cleanup: () => Promise<void>;
let linear: string;
let sentiment: string;

/** 2500 rows of x0..x9 plus an id column the model ignores, in two batches. */
function linearBatches(): RecordBatch[] {
  const cols: Record<string, ReturnType<typeof makeVector>> = {};
  for (let c = 0; c < features.length; c++) {
    cols[features[c]!] = makeVector(
      Float64Array.from({ length: N }, (_, i) => Math.sin(i * (c + 1)) * 3)
    );
  }
  const ids = vectorFromArray(
    Array.from({ length: N }, (_, i) => `row-${i}`),
    new Utf8()
  );
  const table = new Table({ id: ids, ...cols });
  return [table.slice(0, 1000).batches, table.slice(1000).batches].flat();
}

async function writeInput(name: string, batches: readonly RecordBatch[]): Promise<string> {
  const path = join(dir, name);
  const w = createBatchWriter(path);
  for (const b of batches) await w.write(b);
  await w.close();
  return path;
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  linear = await packageExample('linear', dir);
  sentiment = await packageExample('sentiment', dir);
});
afterAll(() => cleanup());

describe('jsfunc score', () => {
  for (const [inExt, outExt] of [
    ['parquet', 'parquet'],
    ['csv', 'csv'],
    ['ndjson', 'arrows'],
    ['arrow', 'ndjson'],
    ['arrows', 'arrow'],
  ] as const) {
    it(`scores ${inExt} into ${outExt}: input columns + prediction, same order, model's values`, async () => {
      const input = await writeInput(`in-${inExt}-${outExt}.${inExt}`, linearBatches());
      const output = join(dir, `out-${inExt}.${outExt}`);
      const run = await cli([
        'score',
        '-m',
        linear,
        '-i',
        input,
        '-o',
        output,
        '--workers',
        '2',
        '--batch-size',
        '700',
      ]);
      expect(run.stderr).toMatch(
        /^jsfunc: scored 2,500 rows in [\d.]+ s \([\d,]+ rows\/s\), 2 workers, [12] model loads? -> /
      );
      expect(run.code).toBe(0);
      const got = await collect(readBatches(output));
      expect(got[0]!.schema.fields.map((f) => f.name)).toEqual(['id', ...features, 'prediction']);
      const outRows = rowsOf(got);
      const inRows = rowsOf(await collect(readBatches(input)));
      expect(outRows.map((r) => r['id'])).toEqual(inRows.map((r) => r['id']));
      const model = await loadModel(linear, { warn: () => {} });
      const expected = Array.from(
        (await model.predict(new Table(linearBatches()).select(features))) as ArrayLike<number>
      );
      expect(outRows.map((r) => r['prediction'])).toEqual(expected);
      expect(outRows.map((r) => r['x3'])).toEqual(inRows.map((r) => r['x3']));
    });
  }

  it('writes a struct result as <output-column>.<field> columns that read back in CSV and Parquet', async () => {
    const texts = ['good great', 'bad awful movie', 'it was ok', 'love it', 'terrible and sad'];
    const table = new Table({
      text: vectorFromArray(texts, new Utf8()),
      lang: vectorFromArray(
        texts.map(() => 'en'),
        new Utf8()
      ),
      score: makeVector(Float64Array.from(texts, (_, i) => i)),
    });
    const input = await writeInput('sent.csv', table.batches);
    const model = await loadModel(sentiment, { warn: () => {} });
    const expected = JSON.parse(
      JSON.stringify(await model.predict(table.select(['text', 'lang']), { threshold: 0.7 }))
    ) as {
      label: string;
      score: number;
    }[];
    for (const ext of ['csv', 'parquet']) {
      const output = join(dir, `sent-out.${ext}`);
      const run = await cli([
        'score',
        '-m',
        sentiment,
        '-i',
        input,
        '-o',
        output,
        '--workers',
        '1',
        '--params',
        '{"threshold":0.7}',
        '--output-column',
        'p',
      ]);
      expect(run.code, run.stderr).toBe(0);
      const got = rowsOf(await collect(readBatches(output)));
      expect(Object.keys(got[0]!)).toEqual(['text', 'lang', 'score', 'p.label', 'p.score']);
      expect(got.map((r) => ({ label: r['p.label'], score: r['p.score'] }))).toEqual(expected);
      expect(got.map((r) => r['score'])).toEqual([0, 1, 2, 3, 4]);
    }
  });

  it('prints a JSON summary with --json and draws a redrawn progress line on a TTY', async () => {
    const input = await writeInput('tty.parquet', linearBatches());
    const run = await cli(
      [
        'score',
        '-m',
        linear,
        '-i',
        input,
        '-o',
        join(dir, 'tty.arrows'),
        '--workers',
        '1',
        '--json',
      ],
      {
        isTTY: true,
      }
    );
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as Record<string, number>;
    expect(summary).toMatchObject({ rows: N, workers: 1, modelLoads: 1 });
    expect(summary['rowsPerSecond']).toBeGreaterThan(0);
    // The bar is drawn with \r (the first update always draws; later ones at most every 100 ms,
    // so how many appear depends on speed) against the exact total Parquet knows from its footer.
    expect(run.stderr).toContain('\r');
    expect(run.stderr).toMatch(/\d+% [\d,]+\/2,500 rows/);
    expect(run.stderr.endsWith('\r\x1b[K')).toBe(true);
  });

  it('an empty input file has no columns: the inputs the model needs are missing, and no output', async () => {
    await writeFile(join(dir, 'empty.ndjson'), '');
    await writeFile(join(dir, 'empty.csv'), '');
    for (const input of ['empty.ndjson', 'empty.csv']) {
      const output = join(dir, `${input}.parquet`);
      const run = await cli(['score', '-m', linear, '-i', join(dir, input), '-o', output]);
      expect(run.code).toBe(ErrorCodes.E_SCHEMA_MISMATCH.exitCode);
      expect(run.stderr).toMatch(
        new RegExp(`^jsfunc: E_SCHEMA_MISMATCH: .*${input}: the input has no columns .*'x0'`)
      );
      expect(await readdir(dir)).not.toContain(`${input}.parquet`);
    }
  });

  it('a header-only CSV gives its header columns + prediction and no rows', async () => {
    const input = join(dir, 'header-only.csv');
    await writeFile(input, `id,${features.join(',')}\n`);
    const header = ['id', ...features, 'prediction'];
    const parquet = join(dir, 'header-only.parquet');
    const run = await cli(['score', '-m', linear, '-i', input, '-o', parquet]);
    expect(run.code, run.stderr).toBe(0);
    const got = await collect(readBatches(parquet));
    expect(got.reduce((n, b) => n + b.numRows, 0)).toBe(0);
    expect(got[0]!.schema.fields.map((f) => f.name)).toEqual(header);
    // The signature types the model's columns even without values.
    expect(String(got[0]!.schema.fields[1]!.type)).toBe('Float64');
    const csv = join(dir, 'header-only-out.csv');
    expect((await cli(['score', '-m', linear, '-i', input, '-o', csv])).code).toBe(0);
    expect(await readFile(csv, 'utf8')).toBe(`${header.join(',')}\n`);
  });

  describe('failures: one line, the code exit status, no output left behind', () => {
    let fails: string;
    beforeAll(async () => {
      fails = join(dir, 'fails');
      await mkdir(fails);
    });
    async function expectFailure(
      argv: string[],
      code: keyof typeof ErrorCodes,
      message: RegExp,
      outDir: string
    ) {
      const run = await cli(argv);
      expect(run.code).toBe(ErrorCodes[code].exitCode);
      expect(run.stderr).toMatch(new RegExp(`^jsfunc: ${code}: `));
      expect(run.stderr).toMatch(message);
      expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(run.stdout).toBe('');
      expect(await listDir(outDir)).toEqual([]);
    }

    it('a column the model needs that the file lacks fails before scoring, naming it and the file columns', async () => {
      const batches = new Table(linearBatches()).select([
        'id',
        ...features.filter((f) => f !== 'x7'),
      ]).batches;
      const input = await writeInput('missing.parquet', batches);
      await expectFailure(
        ['score', '-m', linear, '-i', input, '-o', join(fails, 'out-missing.csv')],
        'E_SCHEMA_MISMATCH',
        /missing\.parquet: .*missing required columns \['x7'\]\. The table has columns \['id', 'x0', 'x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x8', 'x9'\]/,
        fails
      );
    });

    it('a malformed CSV row deep in the file aborts the output', async () => {
      const lines = [features.join(',')];
      for (let i = 0; i < 3000; i++) lines.push(features.map((_, c) => String(i * c)).join(','));
      lines.push('1,2,3');
      await writeFile(join(dir, 'bad.csv'), `${lines.join('\n')}\n`);
      await expectFailure(
        [
          'score',
          '-m',
          linear,
          '-i',
          join(dir, 'bad.csv'),
          '-o',
          join(fails, 'out-bad.parquet'),
          '--workers',
          '1',
          '--batch-size',
          '500',
        ],
        'E_FORMAT_MALFORMED',
        /bad\.csv: line 3002: expected 10 fields/,
        fails
      );
    });

    it('a missing input, an unknown extension, a bad flag value', async () => {
      await expectFailure(
        ['score', '-m', linear, '-i', join(dir, 'nope.csv'), '-o', join(fails, 'out.csv')],
        'E_FILE_NOT_FOUND',
        /nope\.csv does not exist/,
        fails
      );
      await expectFailure(
        ['score', '-m', linear, '-i', join(dir, 'in.xlsx'), '-o', join(fails, 'out.csv')],
        'E_FORMAT_UNSUPPORTED',
        /'\.xlsx'/,
        fails
      );
      await expectFailure(
        ['score', '-m', linear, '-i', join(dir, 'bad.csv'), '-o', join(fails, 'out.txt')],
        'E_FORMAT_UNSUPPORTED',
        /'\.txt'/,
        fails
      );
      await expectFailure(
        [
          'score',
          '-m',
          linear,
          '-i',
          join(dir, 'bad.csv'),
          '-o',
          join(fails, 'out.csv'),
          '--workers',
          'two',
        ],
        'E_OPTION_INVALID',
        /--workers must be an integer >= 1, found "two"/,
        fails
      );
    });

    it('an aborted run (SIGINT in the bin) fails with E_ABORTED and leaves no output', async () => {
      const input = await writeInput('abort.parquet', linearBatches());
      const controller = new AbortController();
      controller.abort(new Error('received SIGINT'));
      const run = await cli(
        ['score', '-m', linear, '-i', input, '-o', join(fails, 'out-abort.csv'), '--workers', '1'],
        { signal: controller.signal }
      );
      expect(run.code).toBe(ErrorCodes.E_ABORTED.exitCode);
      expect(run.stderr).toMatch(/^jsfunc: E_ABORTED: /);
      expect(await listDir(fails)).toEqual([]);
    });

    it('an invalid param fails before any batch runs', async () => {
      const input = await writeInput('p.csv', [
        new Table({ text: vectorFromArray(['a'], new Utf8()) }).batches[0]!,
      ]);
      await expectFailure(
        [
          'score',
          '-m',
          sentiment,
          '-i',
          input,
          '-o',
          join(fails, 'out-p.csv'),
          '--params',
          '{"threshold":"high"}',
        ],
        'E_PARAMS_INVALID',
        /threshold/,
        fails
      );
    });
  });

  it('missing required flags are usage errors (exit 2)', async () => {
    const run = await cli(['score', '-m', linear, '-i', 'x.csv']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      `jsfunc: missing required option --output\nusage: jsfunc ${(await import('../../src/cli/commands/score.js')).scoreCommand.usage}\n`
    );
  });
});

describe('flattenStructColumn', () => {
  it('keeps non-struct batches as they are', async () => {
    const { flattenStructColumn } = await import('../../src/cli/commands/score.js');
    const b = new Table({ prediction: makeVector(new Float64Array([1, 2])) }).batches[0]!;
    expect(flattenStructColumn(b, 'prediction')).toBe(b);
    expect(flattenStructColumn(b, 'other')).toBe(b);
    expect(String(b.schema.fields[0]!.type)).toBe(String(new Float64()));
  });
});
