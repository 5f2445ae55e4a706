/**
 * The worker side of `serve --workers`: the handler module the pool backend names in its tasks.
 * One task carries the raw bodies of several `/invocations` requests (views of shared memory:
 * posting them copies nothing), and the worker does all the per-request work the main thread
 * must not: decode, parse, enforce, predict, format.
 *
 * Per task:
 * 1. each request is parsed and checked on its own (`prepareInvocation`): a malformed body or a
 *    schema mismatch fails that request alone, before any merging;
 * 2. the valid requests are grouped by input schema (field names and Arrow types after
 *    enforcement) and raw params; a group is cut into predict calls of at most `maxBatchRows`
 *    rows (a larger request is scored alone), in arrival order;
 * 3. each call's tables are concatenated (their record batches, no copy), predicted once, and
 *    the output is split back by row ranges (`split-output.ts`) and formatted per request;
 * 4. when a merged call throws, or its output is not one entry per row, its requests are
 *    predicted again one by one, so only the culprit fails (or each gets its own output).
 *
 * A worker that dies mid-task fails the whole task; the main thread then re-runs its requests
 * one per task (`pool-backend.ts`).
 *
 * @module
 */
import { setPriority } from 'node:os';
import type { Table } from 'apache-arrow';
import { serializeError, type WireError } from '../errors.js';
import type { LoadedModel } from '../package/types.js';
import type { HandlerResult, PoolTask } from '../pool/protocol.js';
import { taskWarn, timePredict } from '../pool/worker-runtime.js';
import { taskModel, type ModelTaskFields } from '../udf/model-task.js';
import {
  formatOutput,
  predictOne,
  prepareInvocation,
  type FailureStage,
  type Invocation,
  type InvocationReply,
  type Prepared,
} from './invocation.js';
import { splitOutput } from './split-output.js';

/** A request as posted to a worker (the body a view of a SharedArrayBuffer). */
export type WireInvocation = Invocation;

/** A reply as posted back: errors serialized (structured clone drops their class and code). */
export type WireReply =
  | { ok: true; body: string | Uint8Array; rows: number }
  | { ok: false; stage: FailureStage; error: WireError; data?: string };

/**
 * Nice value of serve workers (Linux): a little below the main thread, so that when the cores
 * are saturated the event loop (HTTP, `/ping`, 504s, feeding the workers) runs first and model
 * compute takes the rest. Idle cores are still used in full: niceness only orders contenders.
 */
export const kWorkerNice = 5;

let prioritySet = false;

/**
 * Lowers this worker thread's scheduling priority, once. On Linux `setpriority(PRIO_PROCESS, 0)`
 * applies to the calling thread only (each thread is its own task); elsewhere it would change
 * the whole process, so it is skipped. Failure is ignored (a container may forbid it).
 */
function lowerPriorityOnce(): void {
  if (prioritySet) return;
  prioritySet = true;
  if (process.platform !== 'linux') return;
  try {
    setPriority(0, kWorkerNice);
  } catch {
    // not allowed here: the worker keeps the default priority
  }
}

/** Start-up only: each worker loads the model once before the server listens. */
export interface WarmUp {
  /** Shared counter: each warm task claims its worker by adding 1. */
  barrier: Int32Array;
  /** How many warm tasks run at once (the worker count). */
  workers: number;
  /** Longest wait, in ms, for the other warm tasks to claim their workers. */
  waitMs: number;
}

/** One pool task: requests to score with the task's model. */
export interface ServeBatchTask extends PoolTask, ModelTaskFields {
  requests: WireInvocation[];
  /** Most rows per predict call (a single larger request is scored alone). */
  maxBatchRows: number;
  /** Set on the start-up tasks only. */
  warm?: WarmUp;
}

/** Counters of one task's predict calls. */
export interface BatchCounters {
  predictCalls: number;
  mergedCalls: number;
  mergedRequests: number;
  maxRequestsPerCall: number;
}

/** The reply value of a task: one reply per request, in order, plus counters. */
export interface ServeBatchResult extends BatchCounters {
  replies: WireReply[];
}

interface Slot {
  index: number;
  prepared: Prepared;
}

/**
 * Scores one task's requests (the pool calls this in a worker).
 *
 * @param task - the requests and the model
 * @returns one reply per request, and the Arrow bodies to move
 */
export default async function serveBatch(
  task: ServeBatchTask
): Promise<HandlerResult<ServeBatchResult>> {
  lowerPriorityOnce();
  if (task.warm !== undefined) claimWorker(task.warm);
  const model = await taskModel(task);
  const counters: BatchCounters = {
    predictCalls: 0,
    mergedCalls: 0,
    mergedRequests: 0,
    maxRequestsPerCall: 0,
  };
  const replies: InvocationReply[] = new Array<InvocationReply>(task.requests.length);
  const groups = new Map<string, Slot[]>();
  task.requests.forEach((request, index) => {
    const checked = prepareInvocation(request, model.signature, taskWarn);
    if (!checked.ok) {
      replies[index] = checked;
      return;
    }
    const key = groupKey(checked.prepared);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [{ index, prepared: checked.prepared }]);
    else group.push({ index, prepared: checked.prepared });
  });
  for (const group of groups.values()) {
    for (const call of cutCalls(group, task.maxBatchRows)) {
      await predictCall(model, call, replies, counters);
    }
  }
  const wire = replies.map(toWire);
  const transfer: ArrayBuffer[] = [];
  for (const r of wire) {
    // Move an Arrow body's buffer when the body owns all of it (tableToIPC's result does).
    if (r.ok && typeof r.body !== 'string' && ownsBuffer(r.body)) {
      transfer.push(r.body.buffer as ArrayBuffer);
    }
  }
  return { value: { replies: wire, ...counters }, transfer };
}

/**
 * Start-up: claims this worker for one warm task, then waits (bounded) until every warm task
 * has claimed one. tinypool gives a task to any idle worker; without the wait a fast worker
 * could take two warm tasks and leave another worker to load the model on a real request.
 */
function claimWorker(warm: WarmUp): void {
  Atomics.add(warm.barrier, 0, 1);
  Atomics.notify(warm.barrier, 0);
  const deadline = performance.now() + warm.waitMs;
  for (;;) {
    const claimed = Atomics.load(warm.barrier, 0);
    const left = deadline - performance.now();
    if (claimed >= warm.workers || left <= 0) return;
    Atomics.wait(warm.barrier, 0, claimed, Math.min(left, 50));
  }
}

/** Requests merge only when their enforced columns and their params are identical. */
function groupKey(p: Prepared): string {
  const fields = p.table.schema.fields.map((f) => [f.name, String(f.type)]);
  return JSON.stringify([fields, p.params ?? null]);
}

/** Consecutive requests of a group, at most `maxRows` rows per call (at least one request). */
function cutCalls(group: readonly Slot[], maxRows: number): Slot[][] {
  const calls: Slot[][] = [];
  let current: Slot[] = [];
  let rows = 0;
  for (const slot of group) {
    const n = slot.prepared.table.numRows;
    if (current.length > 0 && rows + n > maxRows) {
      calls.push(current);
      current = [];
      rows = 0;
    }
    current.push(slot);
    rows += n;
  }
  if (current.length > 0) calls.push(current);
  return calls;
}

async function predictCall(
  model: LoadedModel,
  call: readonly Slot[],
  replies: InvocationReply[],
  counters: BatchCounters
): Promise<void> {
  const alone = async (slot: Slot) => {
    counters.predictCalls++;
    counters.maxRequestsPerCall = Math.max(counters.maxRequestsPerCall, 1);
    replies[slot.index] = await predictOne(model, slot.prepared, taskWarn, timePredict);
  };
  if (call.length === 1) {
    await alone(call[0]!);
    return;
  }
  const tables = call.map((s) => s.prepared.table);
  const merged = (tables[0] as Table).concat(...tables.slice(1));
  const ranges: [number, number][] = [];
  let start = 0;
  for (const t of tables) {
    ranges.push([start, start + t.numRows]);
    start += t.numRows;
  }
  const first = call[0]!.prepared;
  counters.predictCalls++;
  let parts: unknown[] | null = null;
  try {
    const output = await timePredict(() => model.predict(merged, first.params, { warn: taskWarn }));
    parts = splitOutput(output, merged.numRows, ranges);
  } catch {
    // One of the merged requests made the model throw: find it by scoring each alone.
    parts = null;
  }
  if (parts === null) {
    for (const slot of call) await alone(slot);
    return;
  }
  counters.mergedCalls++;
  counters.mergedRequests += call.length;
  counters.maxRequestsPerCall = Math.max(counters.maxRequestsPerCall, call.length);
  call.forEach((slot, i) => {
    replies[slot.index] = formatOutput(parts[i], slot.prepared);
  });
}

function toWire(reply: InvocationReply): WireReply {
  if (reply.ok) return reply;
  const out: WireReply = { ok: false, stage: reply.stage, error: serializeError(reply.error) };
  if (reply.data !== undefined) out.data = reply.data;
  return out;
}

function ownsBuffer(view: Uint8Array): boolean {
  return (
    view.buffer instanceof ArrayBuffer &&
    view.byteOffset === 0 &&
    view.byteLength === view.buffer.byteLength
  );
}
