/**
 * The `meta.yaml` files of MLflow's file stores, read and written as MLflow does.
 *
 * MLflow writes them with `yaml.safe_dump(data, default_flow_style=False, allow_unicode=True)`
 * (`mlflow/utils/yaml_utils.py` `write_yaml`) and reads them with PyYAML's safe loader, which
 * is YAML 1.1: `yes`, `on`, `0777` are not strings there. So both directions use the YAML 1.1
 * schema, keys are sorted as PyYAML sorts them, and strings that YAML 1.1 would read as
 * something else are quoted (single quotes, as PyYAML writes them: `experiment_id: '0'`).
 *
 * One refinement: the `yaml` package's YAML 1.1 schema reads `1e3` as a float, PyYAML as a string
 * (its float pattern needs a dot). Without that tag a hex run id such as `12e45...` round-trips
 * as PyYAML reads it.
 *
 * Reads retry an empty file twice (100 ms, then 200 ms apart), as MLflow's `_read_yaml` does:
 * MLflow's own writes are not atomic, so a concurrent reader can see an empty file. Writes here
 * are atomic (a temporary sibling renamed into place).
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse, stringify, type Tags } from 'yaml';

/** A parsed `meta.yaml`: a mapping (MLflow never writes anything else there). */
export type MetaDict = Record<string, unknown>;

/** The YAML 1.1 tags minus the dot-less exponent float (see the module comment). */
function pyyamlTags(tags: Tags): Tags {
  return tags.filter(
    (t) => !(typeof t === 'object' && t.tag === 'tag:yaml.org,2002:float' && t.format === 'EXP')
  );
}

/** Options of the `yaml` package that read and write YAML as PyYAML does. */
export const PYYAML_OPTIONS = { version: '1.1', customTags: pyyamlTags } as const;

/**
 * Parses YAML text as PyYAML's safe loader would (YAML 1.1 schema).
 *
 * @param text - the YAML text
 * @returns the parsed value (`null` for an empty document)
 * @throws the `yaml` package's error for malformed text
 */
export function parseMlflowYaml(text: string): unknown {
  return parse(text, PYYAML_OPTIONS) as unknown;
}

/**
 * Writes a mapping as `yaml.safe_dump(..., default_flow_style=False)` would: keys sorted at every
 * level, block style, YAML 1.1 quoting, `null` for None.
 *
 * @param data - the mapping
 * @returns the YAML text, ending in a newline
 */
export function dumpMlflowYaml(data: MetaDict): string {
  return stringify(data, {
    ...PYYAML_OPTIONS,
    singleQuote: true,
    sortMapEntries: (a, b) => {
      const x = String(a.key);
      const y = String(b.key);
      return x < y ? -1 : x > y ? 1 : 0;
    },
  });
}

/**
 * Reads `dir/file` as a mapping, retrying an empty file (see the module comment).
 *
 * @param dir - the directory
 * @param file - the file name; default `meta.yaml`
 * @returns the mapping, or `null` when the file does not exist or stays empty
 * @throws Error when the file is not a YAML mapping (the caller adds the context)
 */
export async function readMetaYaml(dir: string, file = 'meta.yaml'): Promise<MetaDict | null> {
  const path = join(dir, file);
  for (let attempt = 0; ; attempt++) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    if (text.trim() !== '' || attempt === 2) {
      const value = text.trim() === '' ? null : parseMlflowYaml(text);
      if (value === null || value === undefined) return null;
      if (typeof value !== 'object' || Array.isArray(value)) {
        throw new Error(`${path} is not a YAML mapping`);
      }
      return value as MetaDict;
    }
    await sleep(100 * (attempt + 1));
  }
}

/**
 * Writes `dir/file` atomically (temporary sibling, then rename), in MLflow's YAML form.
 *
 * @param dir - the directory (must exist)
 * @param data - the mapping
 * @param file - the file name; default `meta.yaml`
 */
export async function writeMetaYaml(
  dir: string,
  data: MetaDict,
  file = 'meta.yaml'
): Promise<void> {
  await writeFileAtomic(join(dir, file), dumpMlflowYaml(data));
}

/**
 * Writes a small text file atomically: readers see the old content or the new, never a part.
 *
 * @param path - the target
 * @param text - the content (written as is: tag and alias files have no trailing newline)
 */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const tmp = join(
    dirname(path),
    `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`
  );
  try {
    await writeFile(tmp, text, 'utf8');
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}
