/**
 * The runtime environment a package records (`js_env.json`) and the check made at load time.
 *
 * Decision: jsfunc writes one JSON file, `js_env.json`, and no `requirements.txt` /
 * `conda.yaml`. Those files are pip/conda formats: MLflow tooling that finds them would try to
 * `pip install` npm package names. `js_env.json` records the Node version the package was saved
 * with, the jsfunc version, and the version of every npm package the model imports, split into
 * `external` (resolved at load time from the loading process, see `bundle.ts`) and `bundled`
 * (copied into `code/model.mjs`, informational). Loading warns when the Node major version or an
 * external package version differs.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelError } from '../errors.js';
import { jsonTextTooDeep, MAX_NESTING_DEPTH } from '../signature/nesting-depth.js';
import { defaultWarn, type WarnFn } from '../warnings.js';
import { readPackageFile } from './package-file.js';

/** File name of the environment record inside a package. */
export const JS_ENV_FILE_NAME = 'js_env.json';

/** Contents of `js_env.json`. */
export interface JsEnv {
  /** `process.versions.node` at save time, e.g. `20.20.2`. */
  node_version: string;
  /** jsfunc version that wrote the package. */
  jsfunc_version: string;
  /** Packages resolved from the loading process at load time: name -> version (null if unknown). */
  external: Record<string, string | null>;
  /** Packages bundled into the model code: name -> version (null if unknown). */
  bundled: Record<string, string | null>;
}

/**
 * npm packages jsfunc keeps external by default: the ones jsfunc itself depends on (so the model
 * shares jsfunc's copy, and Arrow objects cross the boundary without conversion) and the ones
 * with native code, which cannot be bundled.
 */
export const HOST_PACKAGES: readonly string[] = [
  'jsfunc',
  'apache-arrow',
  'danfojs-node',
  'onnxruntime-node',
  'onnxruntime-common',
  'parquet-wasm',
  '@tensorflow/tfjs-node',
];

/**
 * The npm package name of a bare import specifier: `@scope/name/sub` -> `@scope/name`,
 * `name/sub` -> `name`.
 *
 * @param specifier - A bare import specifier.
 * @returns The package name.
 */
export function packageNameOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

/** A package's `package.json` found on disk. */
export interface FoundPackage {
  /** Directory holding the package.json. */
  dir: string;
  /** Parsed package.json. */
  json: Record<string, unknown>;
}

/**
 * Finds `node_modules/<name>/package.json` by walking up from `fromDir`, the way Node resolves
 * a bare import from a file in that directory (read directly, so a package whose `exports` map
 * hides `package.json` is still found).
 *
 * @param name - Package name.
 * @param fromDir - Directory to start from.
 * @returns The package, or undefined when no ancestor has it.
 */
export function findInstalledPackage(name: string, fromDir: string): FoundPackage | undefined {
  let dir = fromDir;
  for (;;) {
    const candidate = join(dir, 'node_modules', name);
    const json = readJson(join(candidate, 'package.json'));
    if (json !== undefined) return { dir: candidate, json };
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * Finds the package owning a resolved module file: the nearest `package.json` above it whose
 * `name` is `name`.
 *
 * @param name - Package name.
 * @param fileUrlOrPath - The resolved module (file URL or path).
 * @returns The package, or undefined.
 */
export function findOwningPackage(name: string, fileUrlOrPath: string): FoundPackage | undefined {
  let dir = dirname(
    fileUrlOrPath.startsWith('file:') ? fileURLToPath(fileUrlOrPath) : fileUrlOrPath
  );
  for (;;) {
    const json = readJson(join(dir, 'package.json'));
    if (json !== undefined && json['name'] === name) return { dir, json };
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return typeof parsed === 'object' && parsed !== null
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a package ships native code (node-gyp addon or prebuilt binaries), which esbuild
 * cannot bundle.
 *
 * @param json - The package's package.json.
 * @returns True for native packages.
 */
export function isNativePackage(json: Record<string, unknown>): boolean {
  if (json['gypfile'] === true || json['binary'] !== undefined) return true;
  const deps = { ...(json['dependencies'] as object | undefined) } as Record<string, unknown>;
  return [
    'node-gyp-build',
    'prebuild-install',
    'bindings',
    '@mapbox/node-pre-gyp',
    'node-addon-api',
  ].some((d) => d in deps);
}

/**
 * The version of jsfunc running this code, read from its own package.json (two levels above
 * both `src/package/` and `dist/package/`).
 *
 * @returns The version, or `0.0.0` when the package.json cannot be read.
 */
export function jsfuncVersion(): string {
  const json = readJson(fileURLToPath(new URL('../../package.json', import.meta.url)));
  return typeof json?.['version'] === 'string' ? json['version'] : '0.0.0';
}

/**
 * Writes `js_env.json` into a package directory.
 *
 * @param dir - Package directory.
 * @param env - The environment to record.
 */
export async function writeJsEnv(dir: string, env: JsEnv): Promise<void> {
  await writeFile(join(dir, JS_ENV_FILE_NAME), `${JSON.stringify(env, null, 2)}\n`);
}

/**
 * Reads `js_env.json` from a package directory, under the package file rule (inside the package
 * through symlinks, a regular file: see `package-file.ts`).
 *
 * @param dir - Package directory.
 * @returns The recorded environment, or null when the file is absent.
 * @throws {ModelError} E_MLMODEL_INVALID when the file is not valid JSON or not the shape
 *   jsfunc writes (versions are strings, `external` and `bundled` map names to a version or
 *   null); E_ARTIFACT_PATH when it is a symlink leading out of the package; E_ARTIFACT_MISSING
 *   when it is a FIFO, a directory or another non-regular file.
 */
export async function readJsEnv(dir: string): Promise<JsEnv | null> {
  const text = await readPackageFile(dir, JS_ENV_FILE_NAME, 'environment file', {
    optional: true,
  });
  if (text === null) return null;
  const file = join(dir, JS_ENV_FILE_NAME);
  const bad = (what: string, cause?: unknown): ModelError =>
    new ModelError('E_MLMODEL_INVALID', `Invalid environment file "${file}": ${what}`, {
      details: { file },
      cause,
    });
  if (jsonTextTooDeep(text)) throw bad(`nested deeper than ${MAX_NESTING_DEPTH} levels`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw bad('not valid JSON', cause);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw bad('expected a JSON object');
  const env = parsed as Record<string, unknown>;
  const version = (key: string): string => {
    const v = env[key];
    if (v === undefined || v === null) return '';
    if (typeof v === 'number') return String(v);
    if (typeof v !== 'string') throw bad(`"${key}" must be a string, found ${typeof v}`);
    return v;
  };
  const versions = (key: string): Record<string, string | null> => {
    const v = env[key];
    if (v === undefined || v === null) return {};
    if (typeof v !== 'object' || Array.isArray(v))
      throw bad(`"${key}" must map package names to versions`);
    const entries = Object.entries(v as Record<string, unknown>);
    for (const [name, ver] of entries) {
      if (ver !== null && typeof ver !== 'string')
        throw bad(`"${key}.${name}" must be a version string or null, found ${typeof ver}`);
    }
    // fromEntries defines own properties: a "__proto__" package name stays a name.
    return Object.fromEntries(entries) as Record<string, string | null>;
  };
  return {
    node_version: version('node_version'),
    jsfunc_version: version('jsfunc_version'),
    external: versions('external'),
    bundled: versions('bundled'),
  };
}

/**
 * Warns when the running Node major version differs from the recorded one, or when an external
 * package resolves to a different version than the one recorded at save time.
 *
 * @param recorded - The environment recorded in the package.
 * @param running - Running versions of the external packages (name -> version, undefined when
 *   it does not resolve).
 * @param warn - Receives the warnings (default {@link defaultWarn}).
 * @returns The warning messages emitted.
 */
export function checkEnvironment(
  recorded: Pick<JsEnv, 'node_version' | 'external'>,
  running: Record<string, string | null | undefined>,
  warn: WarnFn = defaultWarn
): string[] {
  const messages: string[] = [];
  const savedMajor = recorded.node_version.split('.')[0];
  const runningMajor = process.versions.node.split('.')[0];
  if (savedMajor && savedMajor !== runningMajor) {
    messages.push(
      `The model was saved with Node ${recorded.node_version} but is loaded with Node ${process.versions.node}; ` +
        'the model code may behave differently.'
    );
  }
  for (const [name, version] of Object.entries(recorded.external)) {
    const now = running[name];
    if (version !== null && now !== undefined && now !== null && now !== version) {
      messages.push(
        `The model was saved with ${name}@${version} but ${name}@${now} is loaded; ` +
          'the model code may behave differently.'
      );
    }
  }
  for (const m of messages) warn(m);
  return messages;
}
