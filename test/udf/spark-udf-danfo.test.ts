// danfo DataFrames in, danfo out, through real worker threads.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDanfoFrame, isDanfoSeries } from '../../src/adapters/danfo.js';
import { createPool, type ModelPool } from '../../src/pool/pool.js';
import { sparkUdf, type SparkUdf } from '../../src/udf/spark-udf.js';
// @ts-expect-error plain .mjs fixture generator without types
import { makeFixtures } from '../fixtures/udf/make-fixtures.mjs';

let pool: ModelPool;
let udf: SparkUdf;

beforeAll(async () => {
  const { probe } = makeFixtures(mkdtempSync(join(tmpdir(), 'jsfunc-udf-danfo-'))) as {
    probe: string;
  };
  pool = createPool({ workers: 1 });
  udf = await sparkUdf(probe, { pool, warn: () => undefined });
});

afterAll(async () => {
  await udf.close();
  await pool.close();
});

async function frame(): Promise<object> {
  const dfd = await import('danfojs-node');
  return new dfd.DataFrame({ x: [1.5, 2, 3], id: [10, 11, 12] }, { dtypes: ['float32', 'int32'] });
}

describe('sparkUdf with danfo', () => {
  it('apply(DataFrame) returns a danfo Series, one value per row', async () => {
    const out = (await udf.apply(await frame())) as { values: unknown[] };
    expect(isDanfoSeries(out)).toBe(true);
    expect(out.values).toEqual([3, 4, 6]);
  });

  it('withColumn(DataFrame) returns a DataFrame with the new column', async () => {
    const out = (await udf.withColumn(await frame(), 'prediction')) as {
      columns: string[];
      column(n: string): { values: unknown[] };
    };
    expect(isDanfoFrame(out)).toBe(true);
    expect(out.columns).toEqual(['x', 'id', 'prediction']);
    expect(out.column('prediction').values).toEqual([3, 4, 6]);
  });
});
