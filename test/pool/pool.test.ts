import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ModelError } from '../../src/errors.js';
import {
  acquireDefaultPool,
  createPool,
  defaultPoolCount,
  releaseDefaultPool,
  workerEntryUrl,
} from '../../src/pool/pool.js';

describe('workerEntryUrl', () => {
  it('points at compiled JavaScript (the dist/ twin when running from src/*.ts)', () => {
    const url = workerEntryUrl();
    const path = fileURLToPath(url);
    expect(path.endsWith('worker-entry.js')).toBe(true);
    expect(existsSync(path)).toBe(true);
    expect(path).toMatch(/[\\/]dist[\\/]pool[\\/]worker-entry\.js$/);
  });
});

describe('ModelPool', () => {
  it('starts every worker up front and keeps them (min = max threads)', async () => {
    const pool = createPool({ workers: 2 });
    try {
      expect(pool.workers).toBe(2);
      expect(pool.threadIds).toHaveLength(2);
      expect(new Set(pool.threadIds).size).toBe(2);
    } finally {
      await pool.close();
    }
  });

  it('rejects a bad worker count naming the option', () => {
    expect(() => createPool({ workers: 0 })).toThrow(
      'options.workers must be a positive integer, got 0'
    );
    try {
      createPool({ workers: 1.5 });
    } catch (e) {
      expect(ModelError.is(e) && e.code).toBe('E_OPTION_INVALID');
    }
  });

  it('fails runs after close with E_POOL_CLOSED; close is idempotent', async () => {
    const pool = createPool({ workers: 1 });
    await pool.close();
    await pool.close();
    expect(pool.closed).toBe(true);
    await expect(pool.run({ handler: 'file:///none.js' })).rejects.toMatchObject({
      code: 'E_POOL_CLOSED',
    });
  });
});

describe('default pool', () => {
  it('is shared per worker count, reference counted, and closed by its last release', async () => {
    const before = defaultPoolCount();
    const a = acquireDefaultPool(1);
    const b = acquireDefaultPool(1);
    expect(b).toBe(a);
    expect(defaultPoolCount()).toBe(before + 1);
    await releaseDefaultPool(a);
    expect(a.closed).toBe(false);
    await releaseDefaultPool(b);
    expect(a.closed).toBe(true);
    expect(defaultPoolCount()).toBe(before);
    const c = acquireDefaultPool(1);
    expect(c).not.toBe(a);
    await releaseDefaultPool(c);
  });
});
