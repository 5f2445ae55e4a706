/**
 * The parquet-wasm instance of this thread, and the one door every call into it goes through.
 *
 * A WebAssembly trap (`RuntimeError: unreachable`: a Rust panic, or an out-of-bounds access)
 * leaves the instance in an undefined state: a lock or `RefCell` held by the aborted call stays
 * held, the allocator may be mid-update. Calls after a trap can fail in unrelated ways or return
 * wrong data. So after any failure that is not an ordinary Rust `Err` (those arrive as plain
 * `Error`s and leave the instance sound), the instance is dropped and the next call loads a
 * fresh one: the CommonJS build of parquet-wasm (the one Node resolves `parquet-wasm` to)
 * compiles and instantiates its module when required, so deleting it from the require cache and
 * requiring it again gives a new instance with fresh memory (~25 ms), and the old one is
 * garbage collected once nothing refers to it.
 *
 * Only synchronous parquet-wasm calls are used: a trap inside one of its async streams happens
 * in a microtask, escapes as an uncaught exception and leaves the stream's promise pending
 * forever, which no caller can handle.
 *
 * @module
 */
import { createRequire } from 'node:module';
import type * as ParquetWasm from 'parquet-wasm';
import { ModelError, type ErrorCode } from '../errors.js';

/** The parquet-wasm module's exports. */
export type ParquetWasmModule = typeof ParquetWasm;

const require = createRequire(import.meta.url);
let instance: ParquetWasmModule | null = null;
let generation = 0;

/**
 * The current parquet-wasm instance of this thread (loaded on first use).
 *
 * @returns the module exports
 */
export function parquetWasm(): ParquetWasmModule {
  if (instance === null) {
    instance = require('parquet-wasm') as ParquetWasmModule;
    generation++;
  }
  return instance;
}

/**
 * How many instances this thread has loaded so far (1 after the first call; grows by one after
 * each trap). For tests and diagnostics.
 *
 * @returns the count
 */
export function parquetWasmGeneration(): number {
  return generation;
}

/** Drops the current instance: the next {@link parquetWasm} loads a fresh one. */
function discardInstance(): void {
  instance = null;
  try {
    delete require.cache[require.resolve('parquet-wasm')];
  } catch {
    // not resolvable here: nothing cached to drop
  }
}

/** What a call is doing, for the error it may raise. */
export interface ParquetWasmCall {
  /** The code of the error raised when the call fails. */
  code: ErrorCode;
  /** The start of the message, e.g. `data.parquet, row group 3, is not valid Parquet`. */
  what: string;
  /** Structured facts for the error's `details` (file, rowGroup ...). */
  details?: Record<string, unknown>;
}

/**
 * Runs `fn` against the current parquet-wasm instance. Any error or trap becomes a ModelError
 * described by `call`, and after a trap the instance is replaced, so later calls in this thread
 * work again.
 *
 * @param call - what the call does (for the error message)
 * @param fn - the synchronous work; it must free the wasm objects it creates
 * @returns what `fn` returns
 * @throws {ModelError} `call.code` with the underlying error as cause (ModelErrors pass through)
 */
export function callParquetWasm<T>(call: ParquetWasmCall, fn: (pq: ParquetWasmModule) => T): T {
  const pq = parquetWasm();
  try {
    return fn(pq);
  } catch (e) {
    if (ModelError.is(e)) throw e;
    // Rust `Err`s arrive as plain Errors built by wasm-bindgen; anything else (RuntimeError,
    // RangeError, "recursive use of an object" ...) may have left the instance unsound.
    const plain = e instanceof Error && e.constructor === Error;
    if (!plain) discardInstance();
    const msg = e instanceof Error ? e.message : String(e);
    const kind = e instanceof Error && e.name === 'RuntimeError' ? `WebAssembly trap: ${msg}` : msg;
    throw new ModelError(call.code, `${call.what}: ${kind}`, {
      details: { ...call.details, trap: !plain },
      cause: e,
    });
  }
}

/**
 * Frees a parquet-wasm object, ignoring failures (a trapped instance may fail to free; its
 * memory goes with it).
 *
 * @param obj - any parquet-wasm object, or undefined
 */
export function freeQuietly(obj: { free(): void } | null | undefined): void {
  try {
    obj?.free();
  } catch {
    // the instance is gone or already poisoned
  }
}
