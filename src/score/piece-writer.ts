/**
 * The driver's side of output: pieces (encoded by the workers) written in input order into one
 * file, atomically. Text pieces are bytes appended after a header; Parquet pieces are placed by
 * the assembler (one footer at the end); Arrow table pieces go through the IPC writer.
 *
 * @module
 */
import type { Schema as ArrowSchema } from 'apache-arrow';
import { openAtomicFile, type AtomicFile } from '../io/atomic-file.js';
import { csvHeaderBytes } from '../io/csv-format.js';
import type { Format } from '../io/format.js';
import { ParquetAssembler } from '../io/parquet-assembler.js';
import { createBatchWriter, type BatchWriter } from '../io/write-batches.js';
import { decodeTable } from '../pool/transfer.js';
import type { Piece } from './split-task.js';

/** Writes pieces in order to one file; nothing appears at its path until `close()`. */
export interface PieceWriter {
  /** Appends a piece (pieces must come in output order). */
  write(piece: Piece): Promise<void>;
  /** Finishes the file (a header or schema even when no piece came) and renames it into place. */
  close(): Promise<void>;
  /** Discards the file. Idempotent. */
  abort(): Promise<void>;
}

/**
 * Opens a piece writer for `path`.
 *
 * @param path - the output file; its directory must exist
 * @param format - the output format
 * @param schema - the output schema (for the CSV header, and the schema of an empty file)
 * @returns the writer
 */
export function createPieceWriter(path: string, format: Format, schema: ArrowSchema): PieceWriter {
  if (format === 'csv' || format === 'ndjson') return new BytesPieceWriter(path, format, schema);
  if (format === 'parquet') return new ParquetPieceWriter(path, schema);
  return new TablePieceWriter(createBatchWriter(path, { format, schema }));
}

class BytesPieceWriter implements PieceWriter {
  #file: Promise<AtomicFile> | undefined;

  constructor(
    private readonly path: string,
    private readonly format: 'csv' | 'ndjson',
    private readonly schema: ArrowSchema
  ) {}

  async write(piece: Piece): Promise<void> {
    if (piece.kind !== 'bytes') throw new Error(`a ${this.format} output takes byte pieces`);
    await (
      await this.#open()
    ).sink.writev!([piece.bytes]);
  }

  async close(): Promise<void> {
    await (await this.#open()).commit();
  }

  async abort(): Promise<void> {
    const file = await this.#file?.catch(() => undefined);
    await file?.abort();
  }

  #open(): Promise<AtomicFile> {
    this.#file ??= (async () => {
      const file = await openAtomicFile(this.path);
      if (this.format === 'csv') {
        await file.sink.write(csvHeaderBytes(this.schema.fields.map((f) => f.name)));
      }
      return file;
    })();
    return this.#file;
  }
}

class ParquetPieceWriter implements PieceWriter {
  #file: Promise<{ file: AtomicFile; assembler: ParquetAssembler }> | undefined;

  constructor(
    private readonly path: string,
    private readonly schema: ArrowSchema
  ) {}

  async write(piece: Piece): Promise<void> {
    if (piece.kind !== 'parquet') throw new Error('a Parquet output takes Parquet pieces');
    await (await this.#open()).assembler.append(piece.piece);
  }

  async close(): Promise<void> {
    const { file, assembler } = await this.#open();
    await assembler.finish();
    await file.commit();
  }

  async abort(): Promise<void> {
    const open = await this.#file?.catch(() => undefined);
    await open?.file.abort();
  }

  #open() {
    this.#file ??= openAtomicFile(this.path).then((file) => ({
      file,
      assembler: new ParquetAssembler(file.sink, { schema: this.schema }),
    }));
    return this.#file;
  }
}

class TablePieceWriter implements PieceWriter {
  constructor(private readonly writer: BatchWriter) {}

  async write(piece: Piece): Promise<void> {
    if (piece.kind !== 'table') throw new Error('this output takes table pieces');
    for (const batch of decodeTable(piece.table).batches) await this.writer.write(batch);
  }

  close(): Promise<void> {
    return this.writer.close();
  }

  abort(): Promise<void> {
    return this.writer.abort();
  }
}
