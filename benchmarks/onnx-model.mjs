// A minimal ONNX writer (protobuf by hand; no onnx package needed) for the memory benchmark and
// the ONNX flavor tests: one Gather (an embedding lookup, `Y = W[ids]`) over a float32
// initializer `W` of rows x dims, stored in the model file or as ONNX external data (a separate
// file the model names, which onnxruntime memory-maps); optionally followed by a ReduceSum over
// the dims (`S = sum(W[ids], axis 1)`, one float per id).
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';

function varint(value) {
  let n = BigInt(value);
  const out = [];
  do {
    let b = Number(n & 0x7fn);
    n >>= 7n;
    if (n !== 0n) b |= 0x80;
    out.push(b);
  } while (n !== 0n);
  return Buffer.from(out);
}
const key = (field, wire) => varint((field << 3) | wire);
const int = (field, n) => Buffer.concat([key(field, 0), varint(n)]);
const bytes = (field, b) => Buffer.concat([key(field, 2), varint(b.length), b]);
const str = (field, s) => bytes(field, Buffer.from(s));
const msg = (field, parts) => bytes(field, Buffer.concat(parts));

/** ValueInfoProto of a tensor: elem type (1 float, 7 int64) and dims (number or symbol). */
function valueInfo(field, name, elemType, dims) {
  const shape = dims.map((d) => msg(1, [typeof d === 'number' ? int(1, d) : str(2, d)]));
  return msg(field, [str(1, name), msg(2, [msg(1, [int(1, elemType), msg(2, shape)])])]);
}

/**
 * The weights of {@link writeGatherModel}: value i = ((i * 2654435761) mod 1000) / 1000 - 0.5.
 * @param {number} rows
 * @param {number} dims
 * @returns {Float32Array}
 */
export function gatherWeights(rows, dims) {
  const w = new Float32Array(rows * dims);
  for (let i = 0; i < w.length; i++) w[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
  return w;
}

/**
 * Writes a Gather model: input `ids` (int64 [N]), output `Y` (float32 [N, dims]) = rows of `W`,
 * or with `reduce` output `S` (float32 [N]) = the sum of each gathered row.
 * @param {{ out: string, rows?: number, dims?: number, externalData?: string, reduce?: boolean }} options
 *   `externalData`: a path (next to `out`) for `W`'s bytes, named in the model by file name
 * @returns {{ modelBytes: number, weightBytes: number }}
 */
export function writeGatherModel({
  out,
  rows = 32_768,
  dims = 1024,
  externalData,
  reduce = false,
}) {
  const w = gatherWeights(rows, dims);
  const data = Buffer.from(w.buffer, w.byteOffset, w.byteLength);
  const tensor = [int(1, rows), int(1, dims), int(2, 1), str(8, 'W')];
  if (externalData !== undefined) {
    writeFileSync(externalData, data);
    for (const [k, v] of [
      ['location', basename(externalData)],
      ['offset', '0'],
      ['length', String(data.length)],
    ])
      tensor.push(msg(13, [str(1, k), str(2, v)]));
    tensor.push(int(14, 1));
  } else tensor.push(bytes(9, data));
  const nodes = [
    msg(1, [str(1, 'W'), str(1, 'ids'), str(2, 'Y'), str(3, 'gather'), str(4, 'Gather')]),
  ];
  const inits = [msg(5, tensor)];
  let output = valueInfo(12, 'Y', 1, ['N', dims]);
  if (reduce) {
    // ReduceSum (opset 13): axes as an int64 input tensor; keepdims = 0 (AttributeProto INT).
    inits.push(
      msg(5, [
        int(1, 1),
        int(2, 7),
        str(8, 'axes'),
        bytes(9, Buffer.from(new BigInt64Array([1n]).buffer)),
      ])
    );
    const keepdims = msg(5, [str(1, 'keepdims'), int(3, 0), int(20, 2)]);
    nodes.push(
      msg(1, [
        str(1, 'Y'),
        str(1, 'axes'),
        str(2, 'S'),
        str(3, 'sum'),
        str(4, 'ReduceSum'),
        keepdims,
      ])
    );
    output = valueInfo(12, 'S', 1, ['N']);
  }
  const graph = msg(7, [
    ...nodes,
    str(2, 'embedding'),
    ...inits,
    valueInfo(11, 'ids', 7, ['N']),
    output,
  ]);
  const model = Buffer.concat([
    int(1, 8),
    str(2, 'jsfunc-benchmarks'),
    msg(8, [str(1, ''), int(2, 13)]),
    graph,
  ]);
  writeFileSync(out, model);
  return { modelBytes: model.length, weightBytes: data.length };
}
