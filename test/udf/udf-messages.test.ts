// The wording of sparkUdf failures as a caller reads them (issue 12): positions in the caller's
// input rather than internal batch numbers, and the table column the caller passed rather than
// only the signature input it feeds. Runs against real worker threads.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromArrays } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type ModelPool } from '../../src/pool/pool.js';
import { sparkUdf } from '../../src/udf/spark-udf.js';
// @ts-expect-error plain .mjs fixture generator without types
import { makeFixtures } from '../fixtures/udf/make-fixtures.mjs';
import { rejectionOf } from '../util/model-error.js';

let probe: string;
let pool: ModelPool;

beforeAll(() => {
  ({ probe } = makeFixtures(mkdtempSync(join(tmpdir(), 'jsfunc-udf-messages-'))) as {
    probe: string;
  });
  pool = createPool({ workers: 1 });
});

afterAll(async () => {
  await pool.close();
});

describe('sparkUdf error messages', () => {
  it('says which rows of the input failed, and keeps batch and model in the details', async () => {
    const udf = await sparkUdf(probe, {
      pool,
      batchSize: 1000,
      params: { mode: 'throw', failOnId: 1500 },
      warn: () => undefined,
    });
    try {
      const n = 3000;
      const table = tableFromArrays({
        x: Float64Array.from({ length: n }, (_, i) => i),
        id: BigInt64Array.from({ length: n }, (_, i) => BigInt(i)),
      });
      const err = await rejectionOf(udf.apply(table));
      expect(err.code).toBe('E_MODEL_PREDICT');
      expect(err.message).toMatch(/^Rows 1000\.\.1999 of the input failed: .*id 1500/);
      expect(err.message).not.toContain(probe);
      expect(err.details).toMatchObject({
        batchIndex: 1,
        rowStart: 1000,
        rowEnd: 2000,
        modelUri: probe,
      });
    } finally {
      await udf.close();
    }
  });

  it('names the column the caller passed when it does not fit the input it feeds', async () => {
    const udf = await sparkUdf(probe, { pool, warn: () => undefined });
    try {
      const table = tableFromArrays({ x: [1, 2], id_f: [1, 2] });
      const err = await rejectionOf(udf.apply(table, ['x', 'id_f']));
      expect(err.code).toBe('E_SCHEMA_MISMATCH');
      expect(err.message).toMatch(
        /^Rows 0\.\.1 of the input failed: Incompatible input types for column id_f \(signature input id\)\. Can not safely convert float64 to int64\./
      );
      expect(err.details).toMatchObject({ column: 'id_f', input: 'id' });
    } finally {
      await udf.close();
    }
  });
});
