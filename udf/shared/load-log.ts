/**
 * The load log shared by the example models: when `modelConfig.loadLogPath` is a non-empty
 * string, each `loadContext` appends one line `<pid> <threadId> <epoch ms>\n` to that file.
 * Tests and benchmarks count lines to prove that a worker loads a model once, not per batch.
 *
 * @module
 */
import { appendFileSync } from 'node:fs';
import { threadId } from 'node:worker_threads';

/**
 * Appends one load record when `modelConfig.loadLogPath` is set; does nothing otherwise.
 *
 * `appendFileSync` with one short write per call keeps lines whole when several worker
 * threads (or processes) log to the same file.
 *
 * @param modelConfig - the model's config (`loadLogPath` defaults to "")
 * @returns the line written, or null when logging is off
 * @throws {Error} when `loadLogPath` is not a string, or the file cannot be written
 */
export function appendLoadLog(modelConfig: Readonly<Record<string, unknown>>): string | null {
  const path = modelConfig['loadLogPath'] ?? '';
  if (typeof path !== 'string') {
    throw new Error(`modelConfig.loadLogPath must be a string; found ${typeof path}`);
  }
  if (path === '') return null;
  const line = `${process.pid} ${threadId} ${Date.now()}\n`;
  appendFileSync(path, line);
  return line;
}
