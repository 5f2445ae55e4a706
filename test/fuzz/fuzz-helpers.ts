/**
 * Shared pieces of the fuzz suite: the one property every entry point must keep (a value or a
 * coded ModelError, nothing else, and quickly), text mutations of real documents, and a
 * scaling check that tells linear from quadratic work.
 *
 * Budgets: each property runs at most `numRuns` cases and stops early (without failing) after
 * its time limit, so `npm test` stays bounded on a slow machine. Seeds are random per run;
 * fast-check prints the seed and the shrunk counterexample of a failure, and
 * `FUZZ_SEED=<n>` replays it.
 *
 * @module
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { ModelError } from '../../src/errors.js';

/** fast-check parameters of a property: modest runs, a wall-clock budget, a replayable seed. */
export function budget<Ts = unknown>(numRuns: number, timeLimitMs = 2000): fc.Parameters<Ts> {
  const seed = process.env['FUZZ_SEED'];
  return {
    numRuns,
    interruptAfterTimeLimit: timeLimitMs,
    markInterruptAsFailure: false,
    ...(seed === undefined ? {} : { seed: Number(seed) }),
  };
}

/** Longest one call may take on the small inputs of the properties (a blow-up, not noise). */
export const CASE_LIMIT_MS = 2000;

function describeInput(input: unknown): string {
  const text = typeof input === 'string' ? input : String(JSON.stringify(input));
  return text.length > 300 ? `${text.slice(0, 300)}... (${text.length} chars)` : text;
}

function checkThrown(error: unknown, input: unknown): void {
  if (ModelError.is(error)) return;
  const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  expect.fail(`uncoded ${what}\n  input: ${describeInput(input)}`);
}

/**
 * Runs `fn`; passes when it returns or throws a coded ModelError within {@link CASE_LIMIT_MS}.
 *
 * @param fn - The call under test.
 * @param input - Shown when the property fails.
 * @returns What `fn` returned, or undefined when it threw a ModelError.
 */
export function valueOrCoded<T>(fn: () => T, input: unknown): T | undefined {
  const started = performance.now();
  try {
    return fn();
  } catch (error) {
    checkThrown(error, input);
    return undefined;
  } finally {
    const ms = performance.now() - started;
    if (ms > CASE_LIMIT_MS)
      expect.fail(`took ${ms.toFixed(0)} ms\n  input: ${describeInput(input)}`);
  }
}

/** {@link valueOrCoded} for async calls. */
export async function valueOrCodedAsync<T>(
  fn: () => Promise<T>,
  input: unknown
): Promise<T | undefined> {
  const started = performance.now();
  try {
    return await fn();
  } catch (error) {
    checkThrown(error, input);
    return undefined;
  } finally {
    const ms = performance.now() - started;
    if (ms > CASE_LIMIT_MS)
      expect.fail(`took ${ms.toFixed(0)} ms\n  input: ${describeInput(input)}`);
  }
}

/** One edit of a text. `at` and `len` are taken modulo the text's length. */
export type Mutation =
  | { op: 'insert'; at: number; text: string }
  | { op: 'delete'; at: number; len: number }
  | { op: 'replace'; at: number; len: number; text: string }
  | { op: 'repeat'; at: number; len: number; times: number }
  | { op: 'swapLines'; a: number; b: number }
  | { op: 'truncate'; at: number };

/**
 * Arbitrary edits, inserting `tokens` (the syntax of the format) or random text.
 *
 * @param tokens - Pieces of the format worth inserting.
 * @returns An arbitrary list of 1 to 6 mutations.
 */
export function mutations(tokens: readonly string[]): fc.Arbitrary<Mutation[]> {
  const text = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...tokens) },
    { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 4 }) }
  );
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    fc.record({ op: fc.constant('insert' as const), at: fc.nat(), text }),
    fc.record({ op: fc.constant('delete' as const), at: fc.nat(), len: fc.nat(40) }),
    fc.record({ op: fc.constant('replace' as const), at: fc.nat(), len: fc.nat(20), text }),
    fc.record({
      op: fc.constant('repeat' as const),
      at: fc.nat(),
      len: fc.integer({ min: 1, max: 60 }),
      times: fc.integer({ min: 2, max: 300 }),
    }),
    fc.record({ op: fc.constant('swapLines' as const), a: fc.nat(), b: fc.nat() }),
    fc.record({ op: fc.constant('truncate' as const), at: fc.nat() })
  );
  return fc.array(mutation, { minLength: 1, maxLength: 6 });
}

/** Largest text {@link mutate} returns: properties test shapes, the scaling tests test size. */
export const MAX_MUTATED_LENGTH = 16 * 1024;

/**
 * Applies edits to a text.
 *
 * @param seed - The original text.
 * @param edits - From {@link mutations}.
 * @returns The edited text, cut at {@link MAX_MUTATED_LENGTH} characters.
 */
export function mutate(seed: string, edits: readonly Mutation[]): string {
  let s = seed;
  for (const m of edits) {
    const at = (n: number) => (s.length === 0 ? 0 : n % (s.length + 1));
    switch (m.op) {
      case 'insert':
        s = s.slice(0, at(m.at)) + m.text + s.slice(at(m.at));
        break;
      case 'delete':
        s = s.slice(0, at(m.at)) + s.slice(at(m.at) + m.len);
        break;
      case 'replace':
        s = s.slice(0, at(m.at)) + m.text + s.slice(at(m.at) + m.len);
        break;
      case 'repeat': {
        const i = at(m.at);
        s = s.slice(0, i) + s.slice(i, i + m.len).repeat(m.times) + s.slice(i);
        break;
      }
      case 'swapLines': {
        const lines = s.split('\n');
        const a = m.a % lines.length;
        const b = m.b % lines.length;
        [lines[a], lines[b]] = [lines[b]!, lines[a]!];
        s = lines.join('\n');
        break;
      }
      case 'truncate':
        s = s.slice(0, at(m.at));
        break;
    }
    if (s.length > MAX_MUTATED_LENGTH) s = s.slice(0, MAX_MUTATED_LENGTH);
  }
  return s;
}

/** The fastest of `runs` calls of `fn`, in ms (the best estimate of its cost on a busy box). */
export function fastest(fn: () => unknown, runs = 2): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    try {
      fn();
    } catch {
      // Errors are timed too: a limit that stops early must do so in linear time.
    }
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

/** {@link fastest} for async calls. */
export async function fastestAsync(fn: () => Promise<unknown>, runs = 2): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await fn().catch(() => undefined);
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

/** Below this a time says nothing about growth (timer and GC noise): any 4x time under it passes. */
export const SCALING_FLOOR_MS = 150;

/**
 * Whether times of an input of size n and 4n are within the bound of {@link expectLinear}.
 *
 * @param small - Time of the input of size n (ms).
 * @param large - Time of the input of size 4n (ms).
 * @returns True when `large` is under 8x `small` or under {@link SCALING_FLOOR_MS}.
 */
export function withinLinearBound(small: number, large: number): boolean {
  return large < Math.max(8 * small, SCALING_FLOOR_MS);
}

/**
 * Checks that a 4x larger input costs less than 8x the time: linear work takes ~4x, quadratic
 * ~16x, so noise of 2x either way is tolerated. Doubling (2x vs 4x) would leave no margin.
 *
 * @param label - Names the check in the failure.
 * @param small - Time of the input of size n (ms).
 * @param large - Time of the input of size 4n (ms).
 */
export function expectLinear(label: string, small: number, large: number): void {
  // Under the floor the times say nothing about growth, and the bound is the floor itself.
  expect(
    large,
    `${label}: 4x input took ${large.toFixed(0)} ms vs ${small.toFixed(0)} ms (ratio ${(large / small).toFixed(1)})`
  ).toBeLessThan(Math.max(8 * small, SCALING_FLOOR_MS));
}

/**
 * Checks a property and asserts it held (an assertion vitest counts: the suite requires one),
 * with fast-check's report (seed, counterexample) as the failure message.
 *
 * @param property - The property.
 * @param params - From {@link budget}.
 */
export function holds<Ts>(property: fc.IProperty<Ts>, params: fc.Parameters<Ts>): void {
  const details = fc.check(property, params);
  expect(details.failed, fc.defaultReportMessage(details) ?? '').toBe(false);
  expect(details.numRuns).toBeGreaterThan(0);
}

/** {@link holds} for async properties. */
export async function holdsAsync<Ts>(
  property: fc.IAsyncProperty<Ts>,
  params: fc.Parameters<Ts>
): Promise<void> {
  const details = await fc.check(property, params);
  expect(details.failed, fc.defaultReportMessage(details) ?? '').toBe(false);
  expect(details.numRuns).toBeGreaterThan(0);
}
