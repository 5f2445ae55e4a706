/** Magic bytes at the start of an embedding table file. */
export declare const MAGIC: 'JSFEMB01';
/** Header size in bytes; float32 data follows. */
export declare const HEADER_BYTES: 32;
/** Default output: `udf/embedding-lookup/data/embeddings.f32` (git-ignored). */
export declare const defaultPath: string;
/** Default size: 10,000 rows x 1,000 dims (40 MB), seed 42. */
export declare const defaults: { rows: number; dims: number; seed: number };
/** CRC-32 (IEEE), incremental from `crc` (default 0). */
export declare function crc32(bytes: Uint8Array, crc?: number): number;
/** Facts about a written or existing table. */
export interface TableInfo {
  rows: number;
  dims: number;
  seed: number;
  crc32: number;
}
/**
 * Writes a deterministic table (mulberry32(seed), uniform in [-1, 1)).
 * @param options - `outPath` (default {@link defaultPath}), `rows`, `dims`, `seed` (default {@link defaults})
 * @throws {Error} when a size is not a positive uint32
 */
export declare function generateEmbeddingTable(options?: {
  outPath?: string;
  rows?: number;
  dims?: number;
  seed?: number;
}): TableInfo & { path: string; bytes: number };
/** The header of an existing table, or null when absent or not a table file. */
export declare function readHeader(path: string): TableInfo | null;
