/**
 * MLflow's order of object properties: by name in code-point order, as Python sorts `str`.
 *
 * @module
 */
import type { Property } from './types.js';

/** Sorts properties by name in code-point order, as Python's `sorted` does on `str`. */
export function sortProperties(properties: Property[]): Property[] {
  return [...properties].sort((a, b) => compareCodePoints(a.name, b.name));
}

function compareCodePoints(a: string, b: string): number {
  const ca = [...a];
  const cb = [...b];
  const n = Math.min(ca.length, cb.length);
  for (let i = 0; i < n; i++) {
    const x = ca[i]!.codePointAt(0)!;
    const y = cb[i]!.codePointAt(0)!;
    if (x !== y) return x - y;
  }
  return ca.length - cb.length;
}
