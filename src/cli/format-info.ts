/**
 * Text rendering of `getModelInfo` for `jsfunc info`: aligned tables for the signature and
 * params, the first rows of the input example, and the package facts (uuid, created time,
 * size, versions).
 *
 * @module
 */
import type { ModelInfo } from '../package/model-info.js';
import { describeValueType, isTensorSchema } from '../signature/schema.js';
import type { ParamSpec, Schema } from '../signature/types.js';

/** Options of {@link formatInfo}. */
export interface FormatInfoOptions {
  /** Rows of the input example to show. Default 5. */
  exampleRows?: number;
}

/**
 * Lays out rows as columns padded to their widest cell (the last column is not padded).
 *
 * @param headers - the header cells
 * @param rows - the body cells
 * @param indent - prefix of every line; default two spaces
 * @returns one string per line (header, then body)
 */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  indent = '  '
): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    indent +
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)];
}

/**
 * Formats a byte count with a decimal unit, e.g. `6.9 kB (6875 bytes)`.
 *
 * @param bytes - the size
 * @returns the text
 */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${bytes} bytes` : `${v.toFixed(1)} ${units[u]} (${bytes} bytes)`;
}

function schemaRows(schema: Schema): { headers: string[]; rows: string[][] } {
  if (isTensorSchema(schema)) {
    return {
      headers: ['name', 'dtype', 'shape'],
      rows: schema.map((t, i) => [
        t.name ?? `[${i}]`,
        t.dtype,
        t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(', ')})`,
      ]),
    };
  }
  return {
    headers: ['name', 'type', 'required'],
    rows: schema.map((c, i) => [
      c.name ?? `[${i}]`,
      describeValueType(c.type),
      c.required ? 'yes' : 'no',
    ]),
  };
}

/** bigint (long param defaults) is not JSON: write it as its digits. */
function bigintReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

function cell(value: unknown, max = 40): string {
  let text: string;
  try {
    text =
      typeof value === 'string'
        ? value
        : value === undefined
          ? ''
          : (JSON.stringify(value, bigintReplacer) ?? String(value));
  } catch {
    // Circular or otherwise unprintable (a package's documents are depth-checked on reading).
    text = Object.prototype.toString.call(value);
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function paramRows(params: ParamSpec[]): string[][] {
  return params.map((p) => [
    p.name,
    describeValueType(p.type) + (p.shape === null ? '' : '[]'),
    cell(p.default instanceof Date ? p.default.toISOString() : p.default),
  ]);
}

function isSplitFrame(x: unknown): x is { columns: unknown[]; data: unknown[][] } {
  const s = x as { columns?: unknown; data?: unknown } | null;
  return (
    typeof s === 'object' &&
    s !== null &&
    Array.isArray(s.columns) &&
    Array.isArray(s.data) &&
    s.data.every(Array.isArray)
  );
}

function exampleLines(example: unknown, maxRows: number): string[] {
  if (isSplitFrame(example)) {
    const headers = example.columns.map((c) => String(c));
    const rows = example.data
      .slice(0, maxRows)
      .map((r) => headers.map((_, i) => cell(r[i] ?? null, 24)));
    const lines = formatTable(headers, rows);
    if (example.data.length > maxRows) lines.push(`  … ${example.data.length - maxRows} more rows`);
    return lines;
  }
  return [`  ${cell(example, 200)}`];
}

/**
 * Renders a model summary as aligned text.
 *
 * @param info - from `getModelInfo`
 * @param options - see {@link FormatInfoOptions}
 * @returns the text, ending with a newline
 */
export function formatInfo(info: ModelInfo, options: FormatInfoOptions = {}): string {
  const maxRows = options.exampleRows ?? 5;
  const out: string[] = [];
  const facts: [string, string][] = [
    ['path', info.path],
    [
      'flavors',
      Object.keys(info.flavors)
        .map((f) => (info.loadableFlavors.includes(f) ? `${f} (loadable)` : f))
        .join(', ') || '(none)',
    ],
  ];
  if (info.loadableFlavors.length === 0)
    facts.push(['loadable', 'no: jsfunc can read but not load this package']);
  for (const [flavor, conf] of Object.entries(info.flavors)) {
    const fn = conf['predict_fn'];
    if (info.loadableFlavors.includes(flavor) && typeof fn === 'string')
      facts.push(['predict fn', fn]);
  }
  facts.push(['model uuid', info.modelUuid ?? '(none)']);
  facts.push([
    'created',
    info.utcTimeCreated === null ? '(unknown)' : `${info.utcTimeCreated} UTC`,
  ]);
  facts.push([
    'size',
    info.modelSizeBytes === null ? '(not recorded)' : formatBytes(info.modelSizeBytes),
  ]);
  if (info.mlflowVersion !== null) facts.push(['mlflow', info.mlflowVersion]);
  if (info.jsfuncVersion !== null) facts.push(['jsfunc', info.jsfuncVersion]);
  if (info.env !== null) {
    facts.push(['saved with', `node ${info.env.node_version}, jsfunc ${info.env.jsfunc_version}`]);
    const ext = Object.entries(info.env.external).map(([n, v]) => `${n}@${v ?? '?'}`);
    if (ext.length > 0) facts.push(['external', ext.join(', ')]);
    const bundled = Object.entries(info.env.bundled).map(([n, v]) => `${n}@${v ?? '?'}`);
    if (bundled.length > 0) facts.push(['bundled', bundled.join(', ')]);
  }
  const width = Math.max(...facts.map(([k]) => k.length));
  for (const [k, v] of facts) out.push(`${`${k}:`.padEnd(width + 2)}${v}`);

  const sig = info.signature;
  out.push('');
  if (sig === null) {
    out.push('signature: (none)');
  } else {
    for (const [label, schema] of [
      ['inputs', sig.inputs],
      ['outputs', sig.outputs],
    ] as const) {
      if (schema === null) {
        out.push(`${label}: (none)`);
      } else {
        const { headers, rows } = schemaRows(schema);
        out.push(`${label}:`, ...formatTable(headers, rows));
      }
    }
    if (sig.params === null || sig.params.length === 0) out.push('params: (none)');
    else out.push('params:', ...formatTable(['name', 'type', 'default'], paramRows(sig.params)));
  }

  if (info.inputExample !== null && info.inputExample !== undefined) {
    out.push(
      '',
      `input example (${info.inputExampleInfo?.artifact_path ?? 'input_example.json'}):`
    );
    out.push(...exampleLines(info.inputExample, maxRows));
  }
  if (info.metadata !== null && Object.keys(info.metadata).length > 0) {
    out.push('', 'metadata:');
    for (const [k, v] of Object.entries(info.metadata)) out.push(`  ${k}: ${cell(v, 100)}`);
  }
  return `${out.join('\n')}\n`;
}
