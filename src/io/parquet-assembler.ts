/**
 * One Parquet file from pieces encoded elsewhere: `PAR1`, each piece's column chunks in append
 * order, then ONE footer listing every row group with its offsets shifted to where its bytes
 * landed.
 *
 * Memory: a piece's bytes go to the sink as soon as it is appended and are not kept; what stays
 * is each row group's encoded metadata (a few hundred bytes per column chunk) for the footer.
 *
 * @module
 */
import { Table, type Schema as ArrowSchema } from 'apache-arrow';
import { ModelError } from '../errors.js';
import type { ByteSink } from './byte-sink.js';
import { encodeFileMetaData, PAR1, parquetTrailer } from './parquet-file-metadata.js';
import { describeSchemaElement, schemaPaths } from './parquet-metadata.js';
import {
  encodeParquetPiece,
  PIECE_DATA_OFFSET,
  type ParquetPiece,
  type ParquetWriteOptions,
} from './parquet-piece.js';
import { relocateRowGroup, setRowGroupOrdinal } from './parquet-relocate.js';
import { encodeThriftStruct, type ThriftStruct } from './thrift-compact.js';

/** Options of {@link ParquetAssembler}. */
export interface ParquetAssemblerOptions {
  /**
   * The Arrow schema of the file when no piece is appended (an empty file still has columns);
   * default null: such a file then has no columns.
   */
  schema?: ArrowSchema | null;
  /** Writer options for that empty file's schema; default: the writer's defaults. */
  write?: ParquetWriteOptions;
}

/**
 * Writes one Parquet file from pieces. Call `append` for each piece in output order (awaiting
 * each), then `finish` once.
 *
 * @example
 * ```ts
 * const out = new ParquetAssembler(fileSink(fh));
 * for (const table of tables) await out.append(encodeParquetPiece(table));
 * await out.finish();
 * ```
 */
export class ParquetAssembler {
  private readonly sink: ByteSink;
  private readonly options: ParquetAssemblerOptions;
  private first: ParquetPiece | null = null;
  private firstSchema: Uint8Array[] = [];
  private readonly rowGroups: Uint8Array[] = [];
  private position = 0;
  private rows = 0;
  private state: 'open' | 'busy' | 'finished' = 'open';

  /**
   * @param sink - where the bytes go
   * @param options - see {@link ParquetAssemblerOptions}
   */
  constructor(sink: ByteSink, options: ParquetAssemblerOptions = {}) {
    this.sink = sink;
    this.options = options;
  }

  /** Bytes written to the sink so far. */
  get bytesWritten(): number {
    return this.position;
  }

  /** Rows appended so far. */
  get numRows(): number {
    return this.rows;
  }

  /** Row groups appended so far. */
  get numRowGroups(): number {
    return this.rowGroups.length;
  }

  /**
   * Appends a piece: writes its bytes and remembers its row groups for the footer.
   *
   * @param piece - the piece; not modified
   * @throws {ModelError} E_SCHEMA_MISMATCH when its schema differs from the first piece's
   *   (naming the first differing column); E_INTERNAL when called concurrently or after finish
   */
  async append(piece: ParquetPiece): Promise<void> {
    this.enter();
    try {
      this.checkSchema(piece);
      if (this.position === 0) {
        await this.sink.write(PAR1);
        this.position = PAR1.length;
      }
      const delta = this.position - PIECE_DATA_OFFSET;
      const end = PIECE_DATA_OFFSET + piece.bytes.length;
      for (const source of piece.rowGroups) {
        const rg = structuredClone(source);
        relocateRowGroup(rg, delta, [PIECE_DATA_OFFSET, end]);
        setRowGroupOrdinal(rg, this.rowGroups.length);
        this.rowGroups.push(encodeThriftStruct(rg));
      }
      this.rows += piece.numRows;
      if (piece.bytes.length > 0) {
        await this.sink.write(piece.bytes);
        this.position += piece.bytes.length;
      }
    } finally {
      this.state = 'open';
    }
  }

  /**
   * Writes the footer. With no piece appended, writes an empty file of `options.schema`.
   *
   * @throws {ModelError} E_INTERNAL when called twice or during an append
   */
  async finish(): Promise<void> {
    if (this.first === null) {
      const schema = this.options.schema;
      await this.append(
        encodeParquetPiece(schema == null ? new Table() : new Table(schema), this.options.write)
      );
    }
    this.enter();
    const first = this.first!;
    const footer = encodeFileMetaData({
      version: first.version,
      schema: first.schema,
      numRows: this.rows,
      rowGroups: this.rowGroups,
      keyValueMetadata: first.keyValueMetadata,
      createdBy: first.createdBy,
      columnOrders: first.columnOrders,
    });
    await this.sink.write(footer);
    await this.sink.write(parquetTrailer(footer.length));
    this.position += footer.length + 8;
    this.state = 'finished';
  }

  private enter(): void {
    if (this.state !== 'open') {
      throw new ModelError(
        'E_INTERNAL',
        `ParquetAssembler used while ${this.state === 'busy' ? 'an append is running' : 'finished'}.`
      );
    }
    this.state = 'busy';
  }

  private checkSchema(piece: ParquetPiece): void {
    const encoded = piece.schema.map(encodeThriftStruct);
    if (this.first === null) {
      this.first = piece;
      this.firstSchema = encoded;
      return;
    }
    const same = (i: number): boolean => {
      const a = this.firstSchema[i];
      const b = encoded[i];
      return a !== undefined && b !== undefined && Buffer.compare(a, b) === 0;
    };
    // Columns first: a root that differs only in its child count is reported at the column
    // that is missing or extra.
    const n = Math.max(encoded.length, this.firstSchema.length);
    for (let i = 1; i < n; i++) {
      if (!same(i)) throw schemaMismatch(this.first.schema, piece.schema, i);
    }
    if (!same(0)) throw schemaMismatch(this.first.schema, piece.schema, 0);
  }
}

function schemaMismatch(
  expected: readonly ThriftStruct[],
  actual: readonly ThriftStruct[],
  i: number
): ModelError {
  const want = schemaPaths(expected)[i];
  const got = schemaPaths(actual)[i];
  const column = want ?? got ?? '?';
  const name = (p: string | undefined) =>
    p === undefined ? 'no column' : p === '' ? 'the root' : `"${p}"`;
  const what =
    want === got
      ? `expected ${describeSchemaElement(expected[i])}, got ${describeSchemaElement(actual[i])}`
      : `expected ${name(want)} (${describeSchemaElement(expected[i])}), got ${name(got)} (${describeSchemaElement(actual[i])})`;
  return new ModelError(
    'E_SCHEMA_MISMATCH',
    `A Parquet piece's schema differs from the file's at column ${name(column)}: ${what}.`,
    { details: { column, index: i } }
  );
}
