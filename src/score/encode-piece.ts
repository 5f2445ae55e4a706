/**
 * Encoding a split's output rows in the output format, inside the worker: the driver then
 * only writes the piece's bytes in order.
 *
 * @module
 */
import { Table, type RecordBatch } from 'apache-arrow';
import { ByteBuffer } from '../io/byte-buffer.js';
import { encodeCsvBatch } from '../io/csv-format.js';
import { encodeNdjsonBatch } from '../io/ndjson-format.js';
import { encodeParquetPiece, pieceTransferList } from '../io/parquet-piece.js';
import { encodeTable, transferListOf } from '../pool/transfer.js';
import type { OutputSpec, Piece } from './split-task.js';

/**
 * The buffers of a piece to move (not copy) to the driver.
 *
 * @param piece - an encoded piece
 * @returns its transfer list
 */
export function pieceTransfer(piece: Piece): ArrayBuffer[] {
  switch (piece.kind) {
    case 'bytes':
      return piece.bytes.buffer instanceof ArrayBuffer ? [piece.bytes.buffer] : [];
    case 'parquet':
      return pieceTransferList(piece.piece);
    case 'table':
      return transferListOf(piece.table);
  }
}

/**
 * Encodes scored batches (input columns + result, flattened) as one output piece.
 *
 * @param output - the output format
 * @param batches - the rows, in order, all with the same schema
 * @returns the piece
 */
export async function encodePiece(output: OutputSpec, batches: RecordBatch[]): Promise<Piece> {
  await Promise.resolve();
  switch (output.format) {
    case 'csv': {
      const out = new ByteBuffer();
      for (const b of batches) encodeCsvBatch(b, { header: false, out });
      return { kind: 'bytes', bytes: out.bytes() };
    }
    case 'ndjson': {
      const out = new ByteBuffer();
      for (const b of batches) encodeNdjsonBatch(b, { out });
      return { kind: 'bytes', bytes: out.bytes() };
    }
    case 'parquet':
      return { kind: 'parquet', piece: encodeParquetPiece(new Table(batches)) };
    default:
      // A plain ArrayBuffer, moved: the driver's isolate then counts it as external memory and
      // collects it as it writes. A SharedArrayBuffer piece is not counted there, so nothing
      // made the driver collect written pieces and its RSS grew with the output (829 MB for
      // 12M rows to .arrow; 209 MB when collected).
      return {
        kind: 'table',
        table: encodeTable(new Table(batches), { shared: false, reuseShared: false }),
      };
  }
}
