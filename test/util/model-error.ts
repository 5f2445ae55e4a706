/**
 * Catching the ModelError a call throws or a promise rejects with, for tests that then assert on
 * its code, message and details.
 *
 * @module
 */
import { expect } from 'vitest';
import { ModelError } from '../../src/errors.js';

/**
 * Runs `fn` and returns the ModelError it throws.
 *
 * @param fn - the call expected to throw.
 * @returns the error.
 * @throws Error when `fn` returns; the test fails when it throws anything but a ModelError.
 */
export function errorOf(fn: () => unknown): ModelError {
  try {
    fn();
  } catch (e) {
    expect(ModelError.is(e), `expected a ModelError, got ${String(e)}`).toBe(true);
    return e as ModelError;
  }
  throw new Error('expected a ModelError');
}

/**
 * Awaits `p` and returns the ModelError it rejects with.
 *
 * @param p - the promise expected to reject.
 * @returns the error.
 * @throws Error when `p` resolves; the test fails when it rejects with anything but a ModelError.
 */
export async function rejectionOf(p: Promise<unknown>): Promise<ModelError> {
  try {
    await p;
  } catch (e) {
    expect(ModelError.is(e), `expected a ModelError, got ${String(e)}`).toBe(true);
    return e as ModelError;
  }
  throw new Error('expected a rejection');
}
