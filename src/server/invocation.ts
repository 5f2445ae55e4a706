/**
 * One `/invocations` request from body bytes to response body, in the stages MLflow's
 * `invocations()` has: parse the body (JSON, CSV or Arrow), enforce the input schema and the
 * params, predict, format. The same code runs on the main thread (`main-thread-backend.ts`) and
 * inside pool workers (`serve-batch.ts`), so both modes answer alike.
 *
 * Every stage reports failure as a value (an {@link InvocationFailure} naming the stage), not a
 * throw: the worker must keep going with the other requests of its batch, and the app maps each
 * stage to MLflow's status and message (`app.ts`).
 *
 * @module
 */
import type { Table } from 'apache-arrow';
import { ModelError } from '../errors.js';
import { formatPredictions, parseCsvRequest, parseMlflowRequest } from '../io/mlflow-json.js';
import type { LoadedModel } from '../package/types.js';
import { enforceParams } from '../signature/enforce-params.js';
import { enforceSchema } from '../signature/enforce-schema.js';
import type { ModelSignature, Params } from '../signature/types.js';
import type { WarnFn } from '../warnings.js';
import { ARROW_STREAM_TYPE, formatArrowPredictions, parseArrowRequest } from './arrow-body.js';
import { schemaRepr } from './schema-repr.js';

/** The request media types `/invocations` reads (MLflow's two, then Arrow IPC streams). */
export const REQUEST_TYPES = ['text/csv', 'application/json', ARROW_STREAM_TYPE] as const;

/** A request media type `/invocations` reads. */
export type RequestMime = (typeof REQUEST_TYPES)[number];

/** The response body formats: MLflow's JSON, or an Arrow IPC stream. */
export type ResponseFormat = 'json' | 'arrow';

/** Top-level keys that mark an LLM "unified" JSON body (chat, completions, embeddings). */
export const LLM_INPUT_KEYS = ['messages', 'prompt', 'input'] as const;

/** MLflow's prefix for CSV parse failures. */
export const CSV_PARSE_PREFIX =
  'Failed to parse input as a Pandas DataFrame. Ensure that the input is a valid CSV-formatted ' +
  'Pandas DataFrame produced using the `pandas.DataFrame.to_csv()` method.';

/** One `/invocations` request after its content type was accepted. */
export interface Invocation {
  /** The body's media type. */
  mime: RequestMime;
  /** The raw body (UTF-8 text for JSON and CSV). */
  body: Uint8Array;
  /** The response format the client asked for (`Accept`). */
  accept: ResponseFormat;
}

/** A request ready for `predict`: its table already enforced, its params already checked. */
export interface Prepared {
  /** The input, enforced against the signature (schema order, signature types). */
  table: Table;
  /** The request's params as sent (validated; `predict` enforces them again and warns). */
  params: Params | undefined;
  /** An LLM unified body: answered without the `{"predictions": ...}` wrapper. */
  unwrapped: boolean;
  accept: ResponseFormat;
}

/**
 * Where a request failed:
 * - `parse`: the body is not a readable request (400, MLflow's parse messages);
 * - `enforce`: the input schema or params rejected it (400 INVALID_PARAMETER_VALUE);
 * - `predict`: the model threw (400 with MLflow's generic message, or the ModelError's status);
 * - `output`: the result cannot be written (500);
 * - `internal`: the request never reached a verdict (pool closed, worker crashed, timeout).
 */
export type FailureStage = 'parse' | 'enforce' | 'predict' | 'output' | 'internal';

/** A request that failed at `stage`. */
export interface InvocationFailure {
  ok: false;
  stage: FailureStage;
  error: unknown;
  /** The input as `<rows x columns: names>`, for MLflow's `Failed to predict data '...'`. */
  data?: string;
}

/** A scored request: the response body (JSON text or Arrow IPC bytes). */
export interface InvocationSuccess {
  ok: true;
  body: string | Uint8Array;
  /** Input rows, for the server's statistics. */
  rows: number;
}

/** The outcome of one request. */
export type InvocationReply = InvocationSuccess | InvocationFailure;

function failure(stage: FailureStage, error: unknown, data?: string): InvocationFailure {
  return data === undefined ? { ok: false, stage, error } : { ok: false, stage, error, data };
}

/**
 * A table as `<rows rows x columns columns: names>`: the `data` of MLflow's messages (which
 * print the whole DataFrame) without echoing the request's values. Long name lists are cut so a
 * request with very many columns does not make a huge message.
 *
 * @param table - the input table
 * @returns the description
 */
export function describeTable(table: Table): string {
  const fields = table.schema.fields;
  const shown = fields.slice(0, 20).map((f) => f.name);
  const more = fields.length > shown.length ? `, ... (${fields.length - shown.length} more)` : '';
  return `<${table.numRows} rows x ${table.numCols} columns: ${shown.join(', ')}${more}>`;
}

function isDict(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes a text body strictly: a body that is not UTF-8 is a client error, not silently
 * replaced characters.
 *
 * @param body - the bytes
 * @returns the text
 * @throws {ModelError} E_INPUT_INVALID when the bytes are not UTF-8
 */
export function decodeText(body: Uint8Array): string {
  try {
    return utf8.decode(body);
  } catch (e) {
    throw new ModelError('E_INPUT_INVALID', 'Invalid input. The request body is not valid UTF-8.', {
      cause: e,
    });
  }
}

interface Parsed {
  table: Table;
  params: Params | undefined;
  unwrapped: boolean;
}

function parseBody(inv: Invocation, signature: ModelSignature | null): Parsed {
  const schema = signature?.inputs ?? null;
  if (inv.mime === ARROW_STREAM_TYPE) {
    return { table: parseArrowRequest(inv.body), params: undefined, unwrapped: false };
  }
  const text = decodeText(inv.body);
  if (inv.mime === 'text/csv') {
    const table = parseCsvRequest(text, schema);
    // pandas raises EmptyDataError on a body without a header row; so does MLflow's server.
    if (table.numCols === 0) {
      throw new ModelError(
        'E_INPUT_INVALID',
        `${CSV_PARSE_PREFIX} Error: 'No columns to parse from file'`,
        { details: { contentType: inv.mime } }
      );
    }
    return { table, params: undefined, unwrapped: false };
  }
  let decoded: unknown;
  try {
    decoded = JSON.parse(text);
  } catch {
    // parseMlflowRequest owns MLflow's message for malformed JSON.
    const { table, params } = parseMlflowRequest(text, schema);
    return { table, params, unwrapped: false };
  }
  if (isDict(decoded) && LLM_INPUT_KEYS.some((k) => k in decoded)) {
    // MLflow's unified LLM input: keys named by the params schema are params, the rest is the
    // data, here one row.
    const paramNames = new Set((signature?.params ?? []).map((p) => p.name));
    const row: Record<string, unknown> = {};
    const params: Params = {};
    for (const [k, v] of Object.entries(decoded)) {
      if (paramNames.has(k)) params[k] = v;
      else row[k] = v;
    }
    const { table } = parseMlflowRequest({ inputs: [row] }, schema);
    return { table, params, unwrapped: true };
  }
  const { table, params } = parseMlflowRequest(decoded, schema);
  return { table, params, unwrapped: false };
}

/**
 * Enforces the input schema with MLflow's top-level wording: `_validate_prediction_input`
 * re-raises every `_enforce_schema` failure as `Failed to enforce schema of data '<data>' with
 * schema '<schema>'. Error: <e>` (clients match on that prefix).
 */
function enforceInput(table: Table, signature: ModelSignature | null, warn: WarnFn): Table {
  const schema = signature?.inputs ?? null;
  if (schema === null || schema.length === 0) return table;
  try {
    return enforceSchema(table, schema, warn);
  } catch (e) {
    if (!ModelError.is(e)) throw e;
    throw new ModelError(
      e.code,
      `Failed to enforce schema of data '${describeTable(table)}' with schema '${schemaRepr(schema)}'. Error: ${e.message}`,
      { details: e.details, cause: e }
    );
  }
}

const ignoreWarning: WarnFn = () => undefined;

/**
 * Parses a request body into the table and params `predict` will get, without enforcing the
 * signature (the main thread leaves that to `predict`, see {@link predictOne}).
 *
 * @param inv - the request
 * @param signature - the model's signature (types the JSON and CSV columns)
 * @returns the parsed request, or a `parse` failure
 */
export function parseInvocation(
  inv: Invocation,
  signature: ModelSignature | null
): { ok: true; prepared: Prepared } | InvocationFailure {
  try {
    const parsed = parseBody(inv, signature);
    return {
      ok: true,
      prepared: {
        table: parsed.table,
        params: parsed.params,
        unwrapped: parsed.unwrapped,
        accept: inv.accept,
      },
    };
  } catch (e) {
    return failure('parse', e);
  }
}

/**
 * Parses a request and checks it against the signature: the table `predict` will get and the
 * params it will be called with. The pool checks requests one by one this way before any
 * batching, so a bad request fails alone.
 *
 * @param inv - the request
 * @param signature - the model's signature (null: no checks)
 * @param warn - receives enforcement warnings (extra columns dropped)
 * @returns the prepared request, or the stage that rejected it
 */
export function prepareInvocation(
  inv: Invocation,
  signature: ModelSignature | null,
  warn: WarnFn
): { ok: true; prepared: Prepared } | InvocationFailure {
  const parsed = parseInvocation(inv, signature);
  if (!parsed.ok) return parsed;
  const { prepared } = parsed;
  try {
    const table = enforceInput(prepared.table, signature, warn);
    // Checked here so a bad value fails before batching; predict enforces the params again
    // (and reports unknown ones there, once), so this pass stays silent.
    enforceParams(prepared.params, signature?.params ?? null, ignoreWarning);
    return { ok: true, prepared: { ...prepared, table } };
  } catch (e) {
    return failure('enforce', e, describeTable(prepared.table));
  }
}

/**
 * Writes a result (the whole output of one request, or its row slice of a merged batch) as the
 * response body the request asked for.
 *
 * @param result - what `predict` returned for this request's rows
 * @param prepared - the request
 * @returns the body, or an `output` failure
 */
export function formatOutput(result: unknown, prepared: Prepared): InvocationReply {
  try {
    const body =
      prepared.accept === 'arrow'
        ? formatArrowPredictions(result)
        : formatPredictions(result, { unwrapped: prepared.unwrapped });
    return { ok: true, body, rows: prepared.table.numRows };
  } catch (e) {
    return failure(
      'output',
      ModelError.is(e)
        ? e
        : new ModelError(
            'E_MODEL_OUTPUT',
            `The model output cannot be written as JSON: ${e instanceof Error ? e.message : String(e)}`,
            { cause: e }
          )
    );
  }
}

/**
 * Predicts one request alone and formats its answer.
 *
 * A request that was only parsed (the main thread, which does not pay for enforcing twice:
 * `predict` enforces) and fails `predict` with a schema error is checked again here, on the
 * error path only, to tell an input that breaks the signature (MLflow's `Failed to enforce
 * schema ...` answer) from an error the model raised itself.
 *
 * @param model - the loaded model
 * @param prepared - the request
 * @param warn - receives the model's warnings (ignored params, dropped columns)
 * @param time - wraps the predict call (the workers time it); default none
 * @returns the reply
 */
export async function predictOne(
  model: LoadedModel,
  prepared: Prepared,
  warn: WarnFn,
  time: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn()
): Promise<InvocationReply> {
  let result: unknown;
  try {
    result = await time(() => model.predict(prepared.table, prepared.params, { warn }));
  } catch (e) {
    if (ModelError.is(e) && (e.code === 'E_SCHEMA_MISMATCH' || e.code === 'E_INPUT_INVALID')) {
      try {
        enforceInput(prepared.table, model.signature, ignoreWarning);
      } catch (enforcement) {
        return failure('enforce', enforcement, describeTable(prepared.table));
      }
    }
    if (ModelError.is(e) && e.code === 'E_PARAMS_INVALID') {
      return failure('enforce', e, describeTable(prepared.table));
    }
    return failure('predict', e, describeTable(prepared.table));
  }
  return formatOutput(result, prepared);
}
