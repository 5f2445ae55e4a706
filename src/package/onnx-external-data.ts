/**
 * Moving an ONNX model's large initializers out of `model.onnx` into an external-data file
 * (ONNX's external data format, what `onnx.save_model(..., save_as_external_data=True)` and
 * MLflow's `mlflow.onnx.save_model` write by default).
 *
 * Why: onnxruntime copies the initializers of a model stored in one file into every session,
 * so W pool workers hold W copies of the weights (`benchmarks/memory.mjs`: 1.1-1.2 artifact
 * sizes per extra worker). Initializers in an external file are memory-mapped instead: every
 * session of the process reads the same page-cache pages (0.02-0.05 per extra worker beyond a
 * bare worker's own cost). Nothing else onnxruntime-node 1.30 offers shares them: a session
 * created from bytes copies them (and refuses a SharedArrayBuffer), `externalData` given as
 * bytes is copied into each session, and the prepacked-weights container is not exposed.
 *
 * The rewrite is a protobuf walk, no ONNX library: `ModelProto.graph` (field 7) ->
 * `GraphProto.initializer` (field 5) -> `TensorProto.raw_data` (field 9). Each moved tensor loses
 * `raw_data` and gains `external_data` (field 13: location, offset, length) and
 * `data_location = EXTERNAL` (field 14). Every other field is copied byte for byte, in order.
 * Tensors stored in typed fields (`float_data`, ...) and initializers inside subgraphs stay
 * where they are. Offsets are aligned to 4096 bytes, so each tensor starts on a page.
 *
 * @module
 */
import { ModelError } from '../errors.js';

/** Initializers with fewer `raw_data` bytes than this stay in the model (ONNX's default). */
export const kExternalDataThresholdBytes = 1024;

/** Alignment of each tensor in the data file (a page: mapped tensors start on one). */
const kAlign = 4096;

/** The rewritten model and its data file. */
export interface ExternalizedOnnx {
  /** The new `model.onnx` bytes. */
  model: Uint8Array;
  /** The data file's contents, as consecutive parts (tensors and alignment padding). */
  data: Uint8Array[];
  /** Size of the data file in bytes. */
  dataBytes: number;
  /** Initializers moved. */
  tensors: number;
}

interface Field {
  number: number;
  wire: number;
  /** Offset of the field's key. */
  start: number;
  /** Offset after the field. */
  end: number;
  /** Start of a length-delimited payload (wire type 2); for other types equal to `end`. */
  payloadStart: number;
  /** The value of a varint field (wire type 0), else 0. */
  value: number;
}

function malformed(message: string): ModelError {
  return new ModelError('E_MODEL_LOAD', `Not a valid ONNX model: ${message}`, {
    details: { reason: message },
  });
}

function readVarint(buf: Uint8Array, pos: number): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    const b = buf[pos + i];
    if (b === undefined) throw malformed('truncated varint');
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return [value, pos + i + 1];
    scale *= 128;
  }
  throw malformed('varint too long');
}

function* fieldsOf(buf: Uint8Array, start: number, end: number): Generator<Field> {
  let pos = start;
  while (pos < end) {
    const [key, afterKey] = readVarint(buf, pos);
    const wire = key % 8;
    const number = Math.floor(key / 8);
    let payloadStart = afterKey;
    let value = 0;
    let next: number;
    if (wire === 0) [value, next] = readVarint(buf, afterKey);
    else if (wire === 1) next = afterKey + 8;
    else if (wire === 5) next = afterKey + 4;
    else if (wire === 2) {
      const [length, afterLength] = readVarint(buf, afterKey);
      payloadStart = afterLength;
      next = afterLength + length;
    } else throw malformed(`unsupported protobuf wire type ${wire}`);
    if (next > end) throw malformed('a field runs past its message');
    yield {
      number,
      wire,
      start: pos,
      end: next,
      payloadStart: wire === 2 ? payloadStart : next,
      value,
    };
    pos = next;
  }
}

function varint(value: number): Uint8Array {
  const out: number[] = [];
  let n = value;
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Uint8Array.from(out);
}

/** A length-delimited field: key, length, then the parts. */
function lengthDelimited(number: number, parts: readonly Uint8Array[]): Uint8Array[] {
  const length = parts.reduce((n, p) => n + p.length, 0);
  return [varint(number * 8 + 2), varint(length), ...parts];
}

function text(value: string): Uint8Array {
  return new TextEncoder().encode(value);
}

/** `StringStringEntryProto { key = 1; value = 2 }` as field 13 of a TensorProto. */
function entry(key: string, value: string): Uint8Array[] {
  return lengthDelimited(13, [
    ...lengthDelimited(1, [text(key)]),
    ...lengthDelimited(2, [text(value)]),
  ]);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Rewrites an ONNX model so that its large initializers live in an external-data file.
 *
 * @param model - the bytes of a `.onnx` file (a `ModelProto`)
 * @param location - the data file's name, relative to the model file (e.g. `model.onnx.data`)
 * @param thresholdBytes - initializers with fewer `raw_data` bytes stay in the model; default
 *   {@link kExternalDataThresholdBytes}
 * @returns the new model and data, or null when no initializer qualifies (nothing to move)
 * @throws {ModelError} E_MODEL_LOAD when the bytes are not a well-formed protobuf message
 */
export function externalizeInitializers(
  model: Uint8Array,
  location: string,
  thresholdBytes: number = kExternalDataThresholdBytes
): ExternalizedOnnx | null {
  const data: Uint8Array[] = [];
  let dataBytes = 0;
  let tensors = 0;

  const tensor = (f: Field): Uint8Array[] => {
    let raw: Field | undefined;
    for (const t of fieldsOf(model, f.payloadStart, f.end)) {
      if (t.number === 9 && t.wire === 2) raw = t;
      // Already external (data_location = EXTERNAL): leave it as it is.
      if (t.number === 14 && t.wire === 0 && t.value !== 0) {
        return [model.subarray(f.start, f.end)];
      }
    }
    if (raw === undefined || raw.end - raw.payloadStart < thresholdBytes) {
      return [model.subarray(f.start, f.end)];
    }
    const pad = (kAlign - (dataBytes % kAlign)) % kAlign;
    if (pad > 0) data.push(new Uint8Array(pad));
    const offset = dataBytes + pad;
    const bytes = model.subarray(raw.payloadStart, raw.end);
    data.push(bytes);
    dataBytes = offset + bytes.length;
    tensors++;
    const kept: Uint8Array[] = [];
    for (const t of fieldsOf(model, f.payloadStart, f.end)) {
      if (t.number === 9 || t.number === 13 || t.number === 14) continue;
      kept.push(model.subarray(t.start, t.end));
    }
    kept.push(
      ...entry('location', location),
      ...entry('offset', String(offset)),
      ...entry('length', String(bytes.length)),
      varint(14 * 8),
      varint(1)
    );
    return lengthDelimited(f.number, kept);
  };

  const graph = (f: Field): Uint8Array[] => {
    const parts: Uint8Array[] = [];
    for (const g of fieldsOf(model, f.payloadStart, f.end)) {
      if (g.number === 5 && g.wire === 2) parts.push(...tensor(g));
      else parts.push(model.subarray(g.start, g.end));
    }
    return lengthDelimited(f.number, parts);
  };

  const parts: Uint8Array[] = [];
  for (const f of fieldsOf(model, 0, model.length)) {
    if (f.number === 7 && f.wire === 2) parts.push(...graph(f));
    else parts.push(model.subarray(f.start, f.end));
  }
  if (tensors === 0) return null;
  return { model: concat(parts), data, dataBytes, tensors };
}
