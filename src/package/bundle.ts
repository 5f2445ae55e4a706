/**
 * Bundling a model module into one self-contained ESM file, and preparing that file for import.
 *
 * The problem: the bundle lives inside the package, which can be copied anywhere (`/tmp`, a
 * worker's scratch dir). A bare `import 'apache-arrow'` left in it would resolve from the
 * package's directory upwards and fail outside the project. So:
 *
 * - every local import and every ordinary npm package is bundled in;
 * - host packages ({@link HOST_PACKAGES}, packages with native code, and any the caller names)
 *   stay external, rewritten to the placeholder specifier `jsfunc-external:<specifier>`;
 * - CommonJS code bundled into ESM needs `require`, `__filename` and `__dirname`; a banner
 *   defines them from the placeholder `jsfunc-bundle-url:` and esbuild's `define` points the
 *   free identifiers (and `import.meta.url`) at them, so user code that declares its own
 *   `require` or `__dirname` does not collide (esbuild renames those).
 *
 * At load time {@link prepareBundle} replaces the placeholders: externals become the file URL
 * Node resolves *from jsfunc's own location* (so the model shares jsfunc's copy of
 * apache-arrow), and the bundle URL becomes the real `code/model.mjs` in the package. The text
 * is then imported as a `data:` URL tagged with `//# sourceURL=` so stack traces name the real
 * file. Nothing is written to disk at load, so read-only packages work.
 *
 * @module
 */
import { createRequire, isBuiltin } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
// Types only: esbuild itself is imported when a model is saved, so loading a package (in every
// worker thread) does not pay for importing it.
import type * as esbuild from 'esbuild';
import { ModelError } from '../errors.js';
import {
  HOST_PACKAGES,
  findInstalledPackage,
  findOwningPackage,
  isNativePackage,
  packageNameOf,
} from './environment.js';

const EXTERNAL_PREFIX = 'jsfunc-external:';
const BUNDLE_URL_PLACEHOLDER = '"jsfunc-bundle-url:"';

const BANNER = [
  'import { createRequire as __jsfuncCreateRequire } from "node:module";',
  'import { fileURLToPath as __jsfuncFileURLToPath } from "node:url";',
  'import { dirname as __jsfuncPathDirname } from "node:path";',
  `const __jsfuncBundleUrl = ${BUNDLE_URL_PLACEHOLDER};`,
  'const __jsfuncRequire = __jsfuncCreateRequire(__jsfuncBundleUrl);',
  'const __jsfuncFilename = __jsfuncFileURLToPath(__jsfuncBundleUrl);',
  'const __jsfuncDirname = __jsfuncPathDirname(__jsfuncFilename);',
].join('\n');

/** Options for {@link bundleModel}. */
export interface BundleOptions {
  /** Extra npm packages to keep external (resolved from the loading process). Default none. */
  external?: readonly string[];
}

/** What {@link bundleModel} produced. */
export interface BundleResult {
  /** External packages imported by the model: name -> version at save time (null if unknown). */
  external: Record<string, string | null>;
  /** npm packages bundled into the file: name -> version (null if unknown). */
  bundled: Record<string, string | null>;
  /** Local source files that went into the bundle, relative to the model's directory. */
  inputs: string[];
}

/**
 * Bundles `entry` and everything it imports into one ESM file at `outFile`.
 *
 * @param entry - The model module (.ts, .js, .mjs, ...).
 * @param outFile - Where to write the bundle.
 * @param options - See {@link BundleOptions}.
 * @returns The packages found, split into external and bundled.
 * @throws {ModelError} E_SAVE_FAILED when esbuild fails (the message names the file and line).
 */
export async function bundleModel(
  entry: string,
  outFile: string,
  options: BundleOptions = {}
): Promise<BundleResult> {
  const entryAbs = resolve(entry);
  const entryDir = dirname(entryAbs);
  const keepExternal = new Set([...HOST_PACKAGES, ...(options.external ?? [])]);
  const external: Record<string, string | null> = {};
  const bundled: Record<string, string | null> = {};

  const plugin: esbuild.Plugin = {
    name: 'jsfunc-externals',
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        const spec = args.path;
        if (
          args.kind === 'entry-point' ||
          spec.startsWith('.') ||
          spec.startsWith('/') ||
          isBuiltin(spec)
        ) {
          return undefined;
        }
        if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(spec)) return undefined; // data:, file:, ...
        const name = packageNameOf(spec);
        const found = findInstalledPackage(name, args.resolveDir || entryDir);
        const version = typeof found?.json['version'] === 'string' ? found.json['version'] : null;
        if (keepExternal.has(name) || (found !== undefined && isNativePackage(found.json))) {
          external[name] = version ?? external[name] ?? hostVersion(name);
          return { path: EXTERNAL_PREFIX + spec, external: true };
        }
        bundled[name] = version;
        return undefined;
      });
    },
  };

  let result: esbuild.BuildResult<{ metafile: true }>;
  try {
    const { build } = await import('esbuild');
    result = await build({
      entryPoints: [entryAbs],
      absWorkingDir: entryDir,
      outfile: resolve(outFile),
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      write: true,
      metafile: true,
      logLevel: 'silent',
      legalComments: 'eof',
      banner: { js: BANNER },
      define: {
        'import.meta.url': '__jsfuncBundleUrl',
        require: '__jsfuncRequire',
        __filename: '__jsfuncFilename',
        __dirname: '__jsfuncDirname',
      },
      plugins: [plugin],
    });
  } catch (error) {
    const failure = error as Partial<esbuild.BuildFailure>;
    const first = failure.errors?.[0];
    const where = first?.location
      ? `${resolve(entryDir, first.location.file)}:${first.location.line}:${first.location.column}`
      : entryAbs;
    const message = first?.text ?? (error instanceof Error ? error.message : String(error));
    throw new ModelError(
      'E_SAVE_FAILED',
      `Bundling model code "${entryAbs}" failed at ${where}: ${message}`,
      {
        details: { file: entryAbs, location: where },
        cause: error,
      }
    );
  }
  const inputs = Object.keys(result.metafile.inputs)
    .filter((p) => !p.includes('node_modules/'))
    .map((p) => relative(entryDir, resolve(entryDir, p)));
  return { external: sortKeys(external), bundled: sortKeys(bundled), inputs: inputs.sort() };
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Version of a host package as jsfunc itself resolves it, or null. */
function hostVersion(name: string): string | null {
  const url = resolveFromJsfunc(name);
  const found = url === undefined ? undefined : findOwningPackage(name, url);
  return typeof found?.json['version'] === 'string' ? found.json['version'] : null;
}

/**
 * Resolves a bare specifier the way an `import` in jsfunc's own code would (ESM conditions),
 * falling back to CommonJS resolution from the current directory.
 *
 * @param specifier - A bare specifier, e.g. `apache-arrow` or `onnxruntime-node`.
 * @returns The resolved file URL, or undefined when it does not resolve.
 */
export function resolveFromJsfunc(specifier: string): string | undefined {
  try {
    return import.meta.resolve(specifier);
  } catch {
    // fall through
  }
  try {
    return pathToFileURL(createRequire(resolve('package.json')).resolve(specifier)).href;
  } catch {
    return undefined;
  }
}

/** The bundle text made ready to import, plus what its externals resolved to. */
export interface PreparedBundle {
  /** A `data:` URL holding the rewritten module. */
  url: string;
  /** The file URL of the bundle in the package (what stack traces should name). */
  fileUrl: string;
  /** External specifier -> resolved file URL. */
  resolved: Record<string, string>;
}

/**
 * Replaces the placeholders of a bundle written by {@link bundleModel}.
 *
 * @param code - The bundle text.
 * @param bundleFile - Absolute path of the bundle inside the loaded package.
 * @returns The importable URL and the external resolutions.
 * @throws {ModelError} E_MODEL_IMPORT when an external package cannot be resolved.
 */
export function prepareBundle(code: string, bundleFile: string): PreparedBundle {
  const fileUrl = pathToFileURL(bundleFile).href;
  const resolved: Record<string, string> = {};
  let text = code.replace(BUNDLE_URL_PLACEHOLDER, JSON.stringify(fileUrl));
  text = text.replace(/(["'])jsfunc-external:([^"']+)\1/g, (_m, _q: string, spec: string) => {
    const url = resolved[spec] ?? resolveFromJsfunc(spec);
    if (url === undefined) {
      throw new ModelError(
        'E_MODEL_IMPORT',
        `Model code "${bundleFile}" imports the external package "${spec}", which cannot be resolved ` +
          'from jsfunc or the current directory; install it next to jsfunc',
        { details: { file: bundleFile, package: spec } }
      );
    }
    resolved[spec] = url;
    return JSON.stringify(url);
  });
  text += `\n//# sourceURL=${fileUrl}\n`;
  const url = `data:text/javascript;base64,${Buffer.from(text).toString('base64')}`;
  return { url, fileUrl, resolved };
}

/**
 * Replaces the `data:` URL of a prepared bundle by its file URL in an error's stack (and its
 * causes'). V8 names function frames after `//# sourceURL`, but frames of the module's top-level
 * code still carry the (long) `data:` URL.
 *
 * @param error - Any thrown value; non-errors are left alone.
 * @param prepared - The bundle the error came from.
 */
export function cleanBundleStack(
  error: unknown,
  prepared: Pick<PreparedBundle, 'url' | 'fileUrl'>
): void {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e.stack?.includes(prepared.url))
      e.stack = e.stack.split(prepared.url).join(prepared.fileUrl);
  }
}
