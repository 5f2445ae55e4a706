import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Float64, Table, tableFromArrays, vectorFromArray } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import NoopModel from './model.js';

describe('udf/noop', () => {
  it('returns a copy of x0, NaN for nulls', () => {
    const model = new NoopModel();
    const context = { artifacts: {}, modelConfig: { loadLogPath: '' } };
    model.loadContext(context);
    const x0 = Float64Array.from([1.5, -2, 0]);
    const out = model.predict(context, tableFromArrays({ x0, other: Int32Array.from([1, 2, 3]) }));
    expect(Array.from(out)).toEqual([1.5, -2, 0]);
    out[0] = 99;
    expect(x0[0]).toBe(1.5);
    const nulls = new Table({ x0: vectorFromArray([null, 4], new Float64()) });
    expect(Array.from(model.predict(context, nulls))).toEqual([NaN, 4]);
  });

  it('appends one load-log line per loadContext', () => {
    const dir = mkdtempSync(join(tmpdir(), 'jsfunc-noop-'));
    try {
      const log = join(dir, 'loads.log');
      for (let i = 0; i < 3; i++)
        new NoopModel().loadContext({ artifacts: {}, modelConfig: { loadLogPath: log } });
      expect(readFileSync(log, 'utf8').split('\n').filter(Boolean)).toHaveLength(3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
