import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ErrorCodes,
  ModelError,
  deserializeError,
  serializeError,
  type ErrorCode,
} from '../src/errors.js';

const codes = Object.keys(ErrorCodes) as ErrorCode[];

describe('ErrorCodes table', () => {
  it('gives every code a distinct CLI exit status outside 0..2', () => {
    const exits = codes.map((c) => ErrorCodes[c].exitCode);
    expect(new Set(exits).size).toBe(codes.length);
    for (const e of exits) expect(e).toBeGreaterThan(2);
  });

  it('uses the E_ prefix and an HTTP error status for every code', () => {
    for (const c of codes) {
      expect(c).toMatch(/^E_[A-Z_]+$/);
      expect(ErrorCodes[c].status).toBeGreaterThanOrEqual(400);
    }
  });

  it('documents exactly the codes of the table in docs/errors.md', () => {
    const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
    const documented = [...doc.matchAll(/^\| `(E_[A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual([...codes].sort());
    for (const c of codes) expect(doc).toContain(ErrorCodes[c].description);
  });
});

describe('ModelError', () => {
  it('carries code, details, cause, status and exit code', () => {
    const cause = new Error('boom');
    const e = new ModelError('E_SCHEMA_MISMATCH', 'Column "a": expected int32, got utf8', {
      details: { column: 'a' },
      cause,
    });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('ModelError');
    expect(e.code).toBe('E_SCHEMA_MISMATCH');
    expect(e.details).toEqual({ column: 'a' });
    expect(e.cause).toBe(cause);
    expect(e.status).toBe(ErrorCodes.E_SCHEMA_MISMATCH.status);
    expect(e.exitCode).toBe(ErrorCodes.E_SCHEMA_MISMATCH.exitCode);
    expect(ModelError.is(e)).toBe(true);
    expect(ModelError.is(cause)).toBe(false);
    expect(ModelError.is({ name: 'ModelError', code: 'E_SCHEMA_MISMATCH' })).toBe(false);
  });

  it('survives a structured clone through serialize/deserialize with code, details and cause', () => {
    const inner = new TypeError('model blew up');
    const e = new ModelError('E_MODEL_PREDICT', 'predict threw', {
      details: { batchIndex: 3, big: 10n },
      cause: inner,
    });
    const wire = structuredClone(serializeError(e));
    const back = deserializeError(wire);
    expect(ModelError.is(back)).toBe(true);
    const m = back as ModelError;
    expect(m.code).toBe('E_MODEL_PREDICT');
    expect(m.message).toBe('predict threw');
    expect(m.details).toEqual({ batchIndex: 3, big: '10' });
    expect(m.stack).toBe(e.stack);
    const c = m.cause as Error;
    expect(c.name).toBe('TypeError');
    expect(c.message).toBe('model blew up');
    expect(c.stack).toBe(inner.stack);
  });

  it('serializes thrown non-errors as plain messages', () => {
    const back = deserializeError(serializeError('just a string'));
    expect(back.message).toBe('just a string');
    expect(ModelError.is(back)).toBe(false);
  });
});
