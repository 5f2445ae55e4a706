/**
 * File formats jsfunc reads and writes, chosen by file extension.
 *
 * @module
 */
import { extname } from 'node:path';
import { ModelError } from '../errors.js';

/** A file format: Parquet, Arrow IPC file, Arrow IPC stream, CSV, NDJSON, or an MLflow JSON request. */
export type Format = 'parquet' | 'arrow' | 'arrows' | 'csv' | 'ndjson' | 'json';

/** Extension (lower case, with dot) -> format. `.json` is only for `predict` request bodies. */
export const FORMAT_EXTENSIONS: Readonly<Record<string, Format>> = {
  '.parquet': 'parquet',
  '.arrow': 'arrow',
  '.feather': 'arrow',
  '.arrows': 'arrows',
  '.csv': 'csv',
  '.ndjson': 'ndjson',
  '.jsonl': 'ndjson',
  '.json': 'json',
};

/**
 * Picks the format of a file from its extension (case-insensitive).
 *
 * @param path - the file path
 * @returns the format
 * @throws {ModelError} E_FORMAT_UNSUPPORTED naming the extension and the supported list
 */
export function detectFormat(path: string): Format {
  const ext = extname(path).toLowerCase();
  const format = FORMAT_EXTENSIONS[ext];
  if (format === undefined) {
    const supported = Object.keys(FORMAT_EXTENSIONS).join(', ');
    throw new ModelError(
      'E_FORMAT_UNSUPPORTED',
      `Unsupported file extension '${ext === '' ? '(none)' : ext}' for ${path}; supported: ${supported}.`,
      { details: { path, extension: ext, supported: Object.keys(FORMAT_EXTENSIONS) } }
    );
  }
  return format;
}
