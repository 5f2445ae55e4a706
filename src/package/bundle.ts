/**
 * Bundling a model module into one self-contained file, and evaluating that file at load.
 *
 * The problem: the bundle lives inside the package, which can be copied anywhere (`/tmp`, a
 * worker's scratch dir). A bare `import 'apache-arrow'` left in it would resolve from the
 * package's directory upwards and fail outside the project. So:
 *
 * - every local import and every ordinary npm package is bundled in;
 * - host packages ({@link HOST_PACKAGES}, packages with native code, and any the caller names)
 *   stay external, rewritten to the placeholder specifier `jsfunc-external:<specifier>`;
 * - CommonJS code needs `require`, `__filename` and `__dirname`, and ES modules `import.meta`;
 *   a banner defines them from the placeholder `jsfunc-bundle-url:` and esbuild's `define`
 *   points the free identifiers at them, so user code that declares its own `require` or
 *   `__dirname` does not collide (esbuild renames those).
 *
 * At load time {@link prepareBundle} replaces the placeholders: externals become the file URL
 * Node resolves *from jsfunc's own location* (so the model shares jsfunc's copy of
 * apache-arrow), and the bundle URL becomes the real bundle file in the package. Nothing is
 * written to disk at load, so read-only packages work.
 *
 * Two formats, chosen here at save time: `code/model.cjs`, a CommonJS function body (the
 * default: it can be garbage-collected with its model), or `code/model.mjs`, an ES module, for
 * code with top-level `await`. How each is evaluated at load, and why, is in `load-bundle.ts`.
 *
 * @module
 */
import { isBuiltin } from 'node:module';
import { basename, dirname, join, relative, resolve } from 'node:path';
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
import {
  BUNDLE_FILES,
  BUNDLE_URL_PLACEHOLDER,
  resolveFromJsfunc,
  type BundleFormat,
} from './load-bundle.js';

// What loading uses, kept importable from here as before.
export {
  BUNDLE_FILES,
  bundleFormatOf,
  cleanBundleStack,
  evaluateBundle,
  prepareBundle,
  resolveFromJsfunc,
  type BundleExports,
  type BundleFormat,
  type PreparedBundle,
} from './load-bundle.js';

const EXTERNAL_PREFIX = 'jsfunc-external:';

/** Banner of an ES module bundle (`code/model.mjs`). */
const ESM_BANNER = [
  'import { createRequire as __jsfuncCreateRequire } from "node:module";',
  'import { fileURLToPath as __jsfuncFileURLToPath } from "node:url";',
  'import { dirname as __jsfuncPathDirname } from "node:path";',
  `const __jsfuncBundleUrl = ${BUNDLE_URL_PLACEHOLDER};`,
  'const __jsfuncRequire = __jsfuncCreateRequire(__jsfuncBundleUrl);',
  'const __jsfuncFilename = __jsfuncFileURLToPath(__jsfuncBundleUrl);',
  'const __jsfuncDirname = __jsfuncPathDirname(__jsfuncFilename);',
].join('\n');

/**
 * Banner of a function-body bundle (`code/model.cjs`). Strict like the ES module it replaces
 * (the directive must come first); `require` here is the one {@link evaluateBundle} passes.
 */
const CJS_BANNER = [
  '"use strict";',
  'const { createRequire: __jsfuncCreateRequire } = require("node:module");',
  'const { fileURLToPath: __jsfuncFileURLToPath, pathToFileURL: __jsfuncPathToFileURL } = require("node:url");',
  'const { dirname: __jsfuncPathDirname } = require("node:path");',
  `const __jsfuncBundleUrl = ${BUNDLE_URL_PLACEHOLDER};`,
  'const __jsfuncRequire = __jsfuncCreateRequire(__jsfuncBundleUrl);',
  'const __jsfuncFilename = __jsfuncFileURLToPath(__jsfuncBundleUrl);',
  'const __jsfuncDirname = __jsfuncPathDirname(__jsfuncFilename);',
  'const __jsfuncImportMeta = { url: __jsfuncBundleUrl, filename: __jsfuncFilename, dirname: __jsfuncDirname, ' +
    'resolve: (s) => __jsfuncPathToFileURL(__jsfuncRequire.resolve(s)).href };',
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
  /** The format written: `cjs` unless the code needs an ES module (top-level `await`). */
  format: BundleFormat;
  /** The file written: `model.cjs` or `model.mjs` in `outDir`. */
  file: string;
}

/**
 * Bundles `entry` and everything it imports into one file in `outDir`: `model.cjs` (a
 * CommonJS function body, see the module comment) or, when the code uses top-level `await`,
 * `model.mjs` (an ES module).
 *
 * @param entry - The model module (.ts, .js, .mjs, ...).
 * @param outDir - The directory to write the bundle into.
 * @param options - See {@link BundleOptions}.
 * @returns The packages found, split into external and bundled, and the file written.
 * @throws {ModelError} E_SAVE_FAILED when esbuild fails (the message names the file and line).
 */
export async function bundleModel(
  entry: string,
  outDir: string,
  options: BundleOptions = {}
): Promise<BundleResult> {
  try {
    return await bundleAs('cjs', entry, outDir, options);
  } catch (error) {
    // CommonJS cannot express top-level await: such code is written as an ES module.
    if (!(ModelError.is(error) && error.details['topLevelAwait'] === true)) throw error;
    return bundleAs('esm', entry, outDir, options);
  }
}

async function bundleAs(
  format: BundleFormat,
  entry: string,
  outDir: string,
  options: BundleOptions
): Promise<BundleResult> {
  const outFile = join(resolve(outDir), BUNDLE_FILES[format]);
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
    const common = {
      require: '__jsfuncRequire',
      __filename: '__jsfuncFilename',
      __dirname: '__jsfuncDirname',
      'import.meta.url': '__jsfuncBundleUrl',
    };
    result = await build({
      entryPoints: [entryAbs],
      absWorkingDir: entryDir,
      outfile: outFile,
      bundle: true,
      format,
      platform: 'node',
      target: 'node20',
      write: true,
      metafile: true,
      logLevel: 'silent',
      legalComments: 'eof',
      banner: { js: format === 'cjs' ? CJS_BANNER : ESM_BANNER },
      define:
        format === 'cjs'
          ? {
              ...common,
              'import.meta.filename': '__jsfuncFilename',
              'import.meta.dirname': '__jsfuncDirname',
              'import.meta': '__jsfuncImportMeta',
            }
          : common,
      // A function body has no import(): esbuild turns it into a require in a promise.
      ...(format === 'cjs' ? { supported: { 'dynamic-import': false } } : {}),
      plugins: [plugin],
    });
  } catch (error) {
    const failure = error as Partial<esbuild.BuildFailure>;
    const first = failure.errors?.[0];
    if (format === 'cjs' && failure.errors?.some((e) => /top-level await/i.test(e.text)) === true) {
      throw new ModelError('E_SAVE_FAILED', 'top-level await needs an ES module bundle', {
        details: { topLevelAwait: true },
        cause: error,
      });
    }
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
  return {
    external: sortKeys(external),
    bundled: sortKeys(bundled),
    inputs: inputs.sort(),
    format,
    file: basename(outFile),
  };
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
