/**
 * Input datasets: one file, a directory of files, or a glob of files, read as one table.
 *
 * This is the layout Spark, Hive, DuckDB, Polars and pyarrow write and read:
 * - A directory holds every file below it (recursively) with a data extension of one format.
 *   A path segment starting with `_` or `.` is skipped: Spark's `_SUCCESS`, its `_temporary/`
 *   directory, Hadoop's `.crc` files, jsfunc's own `_jsfunc/` bookkeeping.
 * - A glob (`*`, `?`, `[...]`, `{a,b}`, `**`, matched by tinyglobby) selects files the same way;
 *   its root is the directory named by its leading segments without glob characters.
 * - Files are in code-point order of their path below the root, so `part-00002` comes before
 *   `part-00010` and every run, on every machine, sees the same order.
 * - `key=value` directories between the root and a file are Hive partitions: columns added to
 *   the file's rows (see `dataset-partitions.ts`). Every file must sit below the same keys in
 *   the same order.
 *
 * A path that exists is never taken for a glob, so a file named `a[1].csv` is read as itself.
 *
 * @module
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';
import { glob } from 'tinyglobby';
import { ModelError } from '../errors.js';
import { fileNotFound } from './file-errors.js';
import { parseHivePartitions, type PartitionValue } from './dataset-partitions.js';
import { FORMAT_EXTENSIONS, detectFormat, type Format } from './format.js';

export {
  HIVE_DEFAULT_PARTITION,
  parseHivePartitions,
  partitionColumns,
  partitionFields,
  partitionValueTypes,
  unescapePathName,
} from './dataset-partitions.js';
export type { PartitionTypes, PartitionValue } from './dataset-partitions.js';

/** One file of a {@link Dataset}. */
export interface DatasetFile {
  /** The file: the dataset's root joined with the file's path below it. */
  readonly path: string;
  /** Its size in bytes when the dataset was resolved. */
  readonly size: number;
  /** Its modification time (ms since the epoch) when the dataset was resolved. */
  readonly mtimeMs: number;
  /** Hive partitions from `key=value` directories below the root, in path order (null: default). */
  readonly partitions: readonly PartitionValue[];
}

/** Files read as one table; see the module docs. */
export interface Dataset {
  /** The input as given. */
  readonly input: string;
  /** How the input named the files. */
  readonly kind: 'file' | 'directory' | 'glob';
  /** The directory partitions are found below: the input directory, the glob's static prefix, or the file's directory. */
  readonly root: string;
  /** The one format of every file. */
  readonly format: Format;
  /** The files, in code-point order of their path below `root`; never empty. */
  readonly files: readonly DatasetFile[];
  /** The partition columns every file has, in path order; empty for a single file. */
  readonly partitionKeys: readonly string[];
}

/** Options of {@link resolveDataset}. */
export interface ResolveDatasetOptions {
  /**
   * The format. For a single file: its format whatever its extension (as `readBatches`). For a
   * directory or glob: only files with an extension of this format are selected, so a directory
   * holding several formats can still be read one format at a time. Default: from extensions.
   */
  format?: Format;
}

/** Characters that make a path segment a glob pattern (tinyglobby / picomatch syntax). */
const GLOB_CHARS = /[*?[\]{}()!\\]/;

/**
 * Whether `input` is written as a glob pattern (`*`, `?`, `[...]`, `{a,b}`, extglobs).
 *
 * @param input - a path or pattern
 * @returns true when it has glob characters
 */
export function isGlobPattern(input: string): boolean {
  return GLOB_CHARS.test(input);
}

/**
 * Resolves an input path to the files of a dataset.
 *
 * @param input - a file, a directory, or a glob of files
 * @param options - see {@link ResolveDatasetOptions}
 * @returns the dataset
 * @throws {ModelError} E_FILE_NOT_FOUND (the path does not exist, or holds or matches no data
 *   file), E_FORMAT_UNSUPPORTED (a single file's extension; two formats in one dataset, naming a
 *   file of each), E_FORMAT_MALFORMED (a partition key twice on one path), E_SCHEMA_MISMATCH
 *   (files below different partition keys, naming the file)
 * @example
 * ```ts
 * const ds = await resolveDataset('events/'); // events/date=2024-01-01/part-00000.parquet, ...
 * console.log(ds.format, ds.partitionKeys, ds.files.length); // parquet [ 'date' ] 31
 * ```
 */
export async function resolveDataset(
  input: string,
  options: ResolveDatasetOptions = {}
): Promise<Dataset> {
  let info: Awaited<ReturnType<typeof stat>> | null = null;
  try {
    info = await stat(input);
  } catch (e) {
    if (!isGlobPattern(input)) throw fileNotFound(input, e);
  }
  if (info !== null && !info.isDirectory()) {
    const format = options.format ?? detectFormat(input);
    const file = { path: input, size: info.size, mtimeMs: info.mtimeMs, partitions: [] };
    return { input, kind: 'file', root: parentOf(input), format, files: [file], partitionKeys: [] };
  }
  const kind = info !== null ? 'directory' : 'glob';
  const { root, rest } = kind === 'directory' ? { root: input, rest: '' } : splitGlob(input);
  const found = kind === 'directory' ? await walk(root) : await globFiles(root, rest);
  const wanted = dataExtensions(options.format);
  const listed = found
    .filter((f) => wanted.has(extname(f.rel).toLowerCase()))
    .map((f) => ({ ...f, key: Buffer.from(f.rel, 'utf8') }))
    // Code-point order = UTF-8 byte order (JS `<` compares UTF-16 units, which differs above U+FFFF).
    .sort((a, b) => Buffer.compare(a.key, b.key));
  if (listed.length === 0) throw noDataFiles(input, kind, wanted);
  let format: Format | undefined;
  let firstFile = '';
  let keys: string[] | undefined;
  const files: DatasetFile[] = [];
  for (const f of listed) {
    const path = join(root, f.rel);
    const fmt = detectFormat(path);
    if (format === undefined) {
      format = fmt;
      firstFile = path;
    } else if (fmt !== format) {
      throw mixedFormats(input, root, firstFile, format, path, fmt);
    }
    const segments = f.rel.split('/');
    const partitions = parseHivePartitions(segments.slice(0, -1), path);
    const these = partitions.map(([k]) => k);
    if (keys === undefined) keys = these;
    else if (these.length !== keys.length || these.some((k, i) => k !== keys![i])) {
      throw partitionMismatch(input, firstFile, keys, path, these);
    }
    files.push({ path, size: f.size, mtimeMs: f.mtimeMs, partitions });
  }
  return {
    input,
    kind,
    root,
    format: options.format ?? (format as Format),
    files,
    partitionKeys: keys ?? [],
  };
}

/** A file found below a root: its `/`-separated path below the root and its stat. */
interface Found {
  rel: string;
  size: number;
  mtimeMs: number;
}

function parentOf(path: string): string {
  const i = path.lastIndexOf(sep);
  return i < 0 ? '.' : i === 0 ? sep : path.slice(0, i);
}

/** Skipped path segments: Spark/Hadoop bookkeeping (`_SUCCESS`, `_temporary`) and hidden files. */
function hidden(name: string): boolean {
  return name.startsWith('_') || name.startsWith('.');
}

function dataExtensions(format: Format | undefined): Set<string> {
  return new Set(
    Object.entries(FORMAT_EXTENSIONS)
      // `.json` is an MLflow request body, not batch input (`readBatches` says so for one file).
      .filter(([, f]) => (format === undefined ? f !== 'json' : f === format))
      .map(([ext]) => ext)
  );
}

/**
 * Every regular file below `root`, skipping hidden segments before descending (a large
 * `_temporary/` is never listed). Symbolic links are followed; a link back to a directory on
 * the current path is skipped (no cycles). FIFOs, sockets and devices are skipped: reading one
 * would block.
 */
async function walk(root: string): Promise<Found[]> {
  const out: Found[] = [];
  const visit = async (dir: string, rel: string, ancestors: Set<string>): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch((e: unknown) => {
      throw fileNotFound(dir, e);
    });
    const files: string[] = [];
    for (const entry of entries) {
      if (hidden(entry.name)) continue;
      const path = join(dir, entry.name);
      const relPath = rel === '' ? entry.name : `${rel}/${entry.name}`;
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        const target = await stat(path).catch(() => null);
        isDir = target?.isDirectory() === true;
        isFile = target?.isFile() === true;
      }
      if (isFile) files.push(relPath);
      else if (isDir) {
        const real = await realpath(path);
        if (ancestors.has(real)) continue;
        await visit(path, relPath, new Set(ancestors).add(real));
      }
    }
    out.push(...(await statAll(root, files)));
  };
  await visit(root, '', new Set([await realpath(root)]));
  return out;
}

/** Stats files (paths below `root`), a bounded number at a time. */
async function statAll(root: string, rels: readonly string[]): Promise<Found[]> {
  const out: Found[] = [];
  for (let i = 0; i < rels.length; i += 64) {
    const chunk = rels.slice(i, i + 64);
    const infos = await Promise.all(chunk.map((r) => stat(join(root, r)).catch(() => null)));
    infos.forEach((s, j) => {
      // A file removed since it was listed is simply not part of the dataset.
      if (s?.isFile() === true) out.push({ rel: chunk[j]!, size: s.size, mtimeMs: s.mtimeMs });
    });
  }
  return out;
}

/**
 * Splits a glob into its static prefix directory (its leading `/`-separated segments without
 * glob characters; `.` when the first segment is already a pattern) and the pattern below it.
 */
function splitGlob(pattern: string): { root: string; rest: string } {
  const segments = pattern.split('/');
  let n = 0;
  while (n < segments.length - 1 && !isGlobPattern(segments[n]!)) n++;
  const rest = segments.slice(n).join('/');
  if (n === 0) return { root: '.', rest };
  const root = segments.slice(0, n).join('/');
  return { root: root === '' ? '/' : root, rest };
}

/** Files matching `pattern` (the dynamic part of a glob) below `root`, hidden segments skipped. */
async function globFiles(root: string, pattern: string): Promise<Found[]> {
  const rels = await glob(pattern, {
    cwd: root,
    dot: false,
    onlyFiles: true,
    expandDirectories: false,
    followSymbolicLinks: true,
  });
  // tinyglobby leaves dot segments out already; `_` segments (Spark's `_temporary/`) too, here.
  return statAll(
    root,
    rels.filter((r) => !r.split('/').some(hidden))
  );
}

function noDataFiles(input: string, kind: 'directory' | 'glob', wanted: Set<string>): ModelError {
  const exts = [...wanted].join(', ');
  const what =
    kind === 'directory'
      ? `Directory ${input} holds no data file`
      : `No data file matches ${input}`;
  return new ModelError(
    'E_FILE_NOT_FOUND',
    `${what} (looked for ${exts}; paths with a segment starting with '_' or '.' are skipped).`,
    { details: { path: input, extensions: [...wanted] } }
  );
}

function mixedFormats(
  input: string,
  root: string,
  a: string,
  fa: Format,
  b: string,
  fb: Format
): ModelError {
  return new ModelError(
    'E_FORMAT_UNSUPPORTED',
    `Dataset ${input} mixes formats: ${a} is ${fa} and ${b} is ${fb}; a dataset holds one ` +
      `format. Select one with a glob, e.g. '${join(root, '**', `*${extname(a)}`)}'.`,
    { details: { path: input, files: [a, b], formats: [fa, fb] } }
  );
}

function partitionMismatch(
  input: string,
  first: string,
  keys: readonly string[],
  file: string,
  found: readonly string[]
): ModelError {
  const show = (ks: readonly string[]) => (ks.length === 0 ? '(none)' : ks.join('/'));
  return new ModelError(
    'E_SCHEMA_MISMATCH',
    `Dataset ${input}: ${file} is below partition keys ${show(found)}, but ${first} below ` +
      `${show(keys)}; every file must be below the same key=value directories, in the same order.`,
    { details: { path: input, file, expected: [...keys], found: [...found] } }
  );
}
