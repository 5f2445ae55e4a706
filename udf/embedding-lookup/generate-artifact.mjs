#!/usr/bin/env node
// Writes the embedding table artifact of the embedding-lookup example, deterministically.
//
// Usage: node udf/embedding-lookup/generate-artifact.mjs [--rows 10000] [--dims 1000]
//          [--seed 42] [--out udf/embedding-lookup/data/embeddings.f32]
//
// File format (all little-endian), read by model.ts:
//   bytes 0..7    magic "JSFEMB01"
//   bytes 8..11   rows (uint32)
//   bytes 12..15  dims (uint32)
//   bytes 16..19  seed (uint32), informational
//   bytes 20..23  CRC-32 of the data section (uint32)
//   bytes 24..31  reserved, zero (keeps the data 8-byte aligned)
//   bytes 32..    rows * dims float32, row-major, uniform in [-1, 1)
import { mkdirSync, openSync, closeSync, writeSync, readSync, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import zlib from 'node:zlib';
import { mulberry32 } from '../shared/spec-helpers.mjs';

export const MAGIC = 'JSFEMB01';
export const HEADER_BYTES = 32;
export const defaultPath = fileURLToPath(new URL('./data/embeddings.f32', import.meta.url));
export const defaults = { rows: 10_000, dims: 1_000, seed: 42 };

/**
 * CRC-32 (IEEE), incremental: zlib.crc32 where Node has it (>= 20.15), else a table-driven
 * fallback.
 * @param {Uint8Array} bytes
 * @param {number} [crc=0] running value
 * @returns {number}
 */
export function crc32(bytes, crc = 0) {
  if (typeof zlib.crc32 === 'function') return zlib.crc32(bytes, crc);
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = (CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8)) >>> 0;
  return ~c >>> 0;
}
const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/**
 * Generates the table and writes it, one block of rows at a time (memory stays small).
 * @param {{ outPath?: string, rows?: number, dims?: number, seed?: number }} [options]
 * @returns {{ path: string, rows: number, dims: number, seed: number, bytes: number, crc32: number }}
 */
export function generateEmbeddingTable(options = {}) {
  const rows = options.rows ?? defaults.rows;
  const dims = options.dims ?? defaults.dims;
  const seed = options.seed ?? defaults.seed;
  const path = resolve(options.outPath ?? defaultPath);
  for (const [key, value] of Object.entries({ rows, dims, seed })) {
    if (!Number.isInteger(value) || value < (key === 'seed' ? 0 : 1) || value > 0xffffffff) {
      throw new Error(
        `generateEmbeddingTable: ${key} must be a uint32 (>= 1 for sizes); found ${value}`
      );
    }
  }
  mkdirSync(dirname(path), { recursive: true });
  const random = mulberry32(seed);
  const fd = openSync(path, 'w');
  let crc = 0;
  try {
    writeSync(fd, new Uint8Array(HEADER_BYTES), 0, HEADER_BYTES, 0); // patched below
    const blockRows = Math.max(1, Math.floor((1 << 20) / dims));
    const block = new Float32Array(blockRows * dims);
    // Float32Array uses platform byte order; every platform Node supports is little-endian.
    const bytes = new Uint8Array(block.buffer);
    let position = HEADER_BYTES;
    for (let r = 0; r < rows; r += blockRows) {
      const n = Math.min(blockRows, rows - r) * dims;
      for (let i = 0; i < n; i++) block[i] = random() * 2 - 1;
      const view = bytes.subarray(0, n * 4);
      crc = crc32(view, crc);
      writeSync(fd, view, 0, view.length, position);
      position += view.length;
    }
    const header = Buffer.alloc(HEADER_BYTES);
    header.write(MAGIC, 0, 'latin1');
    header.writeUInt32LE(rows, 8);
    header.writeUInt32LE(dims, 12);
    header.writeUInt32LE(seed, 16);
    header.writeUInt32LE(crc, 20);
    writeSync(fd, header, 0, HEADER_BYTES, 0);
  } finally {
    closeSync(fd);
  }
  return { path, rows, dims, seed, bytes: HEADER_BYTES + rows * dims * 4, crc32: crc };
}

/**
 * Reads the header of an existing table, or null when the file is absent or not a table.
 * @param {string} path
 * @returns {{ rows: number, dims: number, seed: number, crc32: number } | null}
 */
export function readHeader(path) {
  if (!existsSync(path)) return null;
  const header = Buffer.alloc(HEADER_BYTES);
  const fd = openSync(path, 'r');
  try {
    if (readSync(fd, header, 0, HEADER_BYTES, 0) < HEADER_BYTES) return null;
  } finally {
    closeSync(fd);
  }
  if (header.toString('latin1', 0, 8) !== MAGIC) return null;
  return {
    rows: header.readUInt32LE(8),
    dims: header.readUInt32LE(12),
    seed: header.readUInt32LE(16),
    crc32: header.readUInt32LE(20),
  };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string' },
      dims: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const started = performance.now();
  const info = generateEmbeddingTable({
    outPath: values.out,
    rows: values.rows === undefined ? undefined : Number(values.rows),
    dims: values.dims === undefined ? undefined : Number(values.dims),
    seed: values.seed === undefined ? undefined : Number(values.seed),
  });
  const ms = (performance.now() - started).toFixed(0);
  console.log(
    `wrote ${info.path}: ${info.rows} x ${info.dims} float32, ${(info.bytes / 1e6).toFixed(1)} MB, ` +
      `crc32 ${info.crc32.toString(16)}, ${ms} ms`
  );
}
