// Helpers for the example specs (plain JS so `node udf/package.mjs` needs no TS loader).
import { fileURLToPath } from 'node:url';

/** Absolute path of the repository root (two levels above this file). */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/**
 * A column spec of the signature type system.
 * @param {string | undefined} name column name; undefined for an unnamed output column
 * @param {string} type MLflow data type name (double, long, string, boolean, ...)
 * @param {boolean} [required=true]
 * @returns {import('../../src/signature/types.js').ColSpec}
 */
export function col(name, type, required = true) {
  /** @type {import('../../src/signature/types.js').ColSpec} */
  const spec = { kind: 'column', type: { type }, required };
  if (name !== undefined) spec.name = name;
  return spec;
}

/**
 * Deterministic 32-bit PRNG (mulberry32): the same seed gives the same stream on every
 * platform, so generated artifacts are reproducible byte for byte.
 * @param {number} seed
 * @returns {() => number} uniform in [0, 1)
 */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
