/**
 * Evaluating a bundle written by `bundle.ts` at load time: placeholders replaced
 * ({@link prepareBundle}), then the code run ({@link evaluateBundle}).
 *
 * At load the placeholders of the bundle become real: externals become the file URL Node
 * resolves *from jsfunc's own location* (so the model shares jsfunc's copy of apache-arrow), and
 * the bundle URL becomes the real bundle file in the package. Nothing is written to disk at
 * load, so read-only packages work.
 *
 * Two formats, chosen at save time (the file extension says which):
 *
 * - **`code/model.cjs`, a function body (the default).** esbuild writes CommonJS, and
 *   {@link evaluateBundle} compiles it with `vm.compileFunction` in the main context (so Arrow
 *   objects, typed arrays and errors are the host's own classes) and calls it with `exports`,
 *   `require`, `module`, `__filename`, `__dirname`. Nothing but the model holds the compiled
 *   code, so a model evicted from a worker's cache is garbage-collected with its code. An ES
 *   module cannot be: Node keeps every imported module (and a `data:` URL module's whole text
 *   as its key) until the process exits, which grew a long-running pool by ~4-7 MB per distinct
 *   500 KB package. `import.meta.url`, `.filename`, `.dirname` are the bundle file's,
 *   `import.meta.resolve` resolves as `require.resolve` from it; dynamic `import()` becomes a
 *   `require` in a promise (the `vm` hook for a real `import()` is experimental in Node 20);
 *   static imports of externals are imported (ESM) before the body runs, in source order.
 * - **`code/model.mjs`, an ES module**, when the code uses top-level `await`, which CommonJS
 *   cannot express, and for packages written by earlier jsfunc versions or by hand. It is
 *   imported as a `data:` URL tagged with `//# sourceURL=` so stack traces name the real file;
 *   such a model's code stays in memory until the process exits.
 *
 * @module
 */
import { createRequire, isBuiltin } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compileFunction } from 'node:vm';
import { ModelError } from '../errors.js';

/** The placeholder of the bundle's own URL (a JSON string in the banner). */
export const BUNDLE_URL_PLACEHOLDER = '"jsfunc-bundle-url:"';

/** Bundle file names inside the code directory, by format. */
export const BUNDLE_FILES = { cjs: 'model.cjs', esm: 'model.mjs' } as const;

/** The format of a bundle: a CommonJS function body, or an ES module. */
export type BundleFormat = keyof typeof BUNDLE_FILES;

/**
 * The format a bundle file is evaluated as: `.cjs` is a function body, anything else an ES
 * module (as Node reads extensions).
 *
 * @param file - The bundle's path.
 * @returns Its format.
 */
export function bundleFormatOf(file: string): BundleFormat {
  return file.endsWith('.cjs') ? 'cjs' : 'esm';
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

/** The bundle text made ready to evaluate, plus what its externals resolved to. */
export interface PreparedBundle {
  /** How the bundle is evaluated (from its file name, see {@link bundleFormatOf}). */
  format: BundleFormat;
  /** ES module: a `data:` URL holding the rewritten module. Function body: the file URL. */
  url: string;
  /** The file URL of the bundle in the package (what stack traces should name). */
  fileUrl: string;
  /** External specifier -> resolved file URL. */
  resolved: Record<string, string>;
  /** Function body: the rewritten text (empty for an ES module, whose text is in `url`). */
  text: string;
}

/**
 * Replaces the placeholders of a bundle written by {@link bundleModel}.
 *
 * @param code - The bundle text.
 * @param bundleFile - Absolute path of the bundle inside the loaded package.
 * @returns The evaluable text and the external resolutions.
 * @throws {ModelError} E_MODEL_IMPORT when an external package cannot be resolved.
 */
export function prepareBundle(code: string, bundleFile: string): PreparedBundle {
  const format = bundleFormatOf(bundleFile);
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
  if (format === 'cjs') return { format, url: fileUrl, fileUrl, resolved, text };
  text += `\n//# sourceURL=${fileUrl}\n`;
  const url = `data:text/javascript;base64,${Buffer.from(text).toString('base64')}`;
  return { format, url, fileUrl, resolved, text: '' };
}

/** Thread-wide map of externals provided by the host (see {@link provideExternal}). */
const kProvided = Symbol.for('jsfunc.providedExternals.v1');

function provided(): Map<string, Record<string, unknown>> {
  const holder = globalThis as unknown as Record<symbol, Map<string, Record<string, unknown>>>;
  return (holder[kProvided] ??= new Map());
}

/**
 * Makes function-body bundles loaded on this thread receive `namespace` when they require the
 * external `specifier`, instead of importing it. The bundled worker (`worker/main.ts`) provides
 * its own apache-arrow this way, so a model shares the Arrow copy that builds its input tables,
 * as on the main thread, and the worker does not import apache-arrow's ~150 ES modules a second
 * time. ES module bundles (`code/model.mjs`) import their externals themselves and are not
 * affected. Kept on `globalThis`, so every copy of this module in the thread sees it.
 *
 * @param specifier - the bare specifier the bundle names, e.g. `apache-arrow`
 * @param namespace - the module namespace to hand out
 */
export function provideExternal(specifier: string, namespace: Record<string, unknown>): void {
  provided().set(specifier, namespace);
}

/** The exports of an evaluated bundle, read the way an ES module import reads them. */
export interface BundleExports {
  /**
   * The export named `name`. For a CommonJS body without `__esModule`, `default` is
   * `module.exports` itself, as Node's `import` of CommonJS gives.
   */
  get(name: string): unknown;
  /** The export names. */
  names(): string[];
}

/** This module's own `require`: built-ins, and the CommonJS cache `import()` fills. */
const hostRequire = createRequire(import.meta.url);

/** One view per ES module namespace, shared by every bundle that requires it. */
const esModuleViews = new WeakMap<object, Record<string, unknown>>();

/**
 * What `require` gives a function-body bundle for an ES module: its namespace, marked
 * `__esModule` so esbuild's interop reads `default` as the module's default export.
 */
function esModuleView(ns: Record<string, unknown>): Record<string, unknown> {
  let view = esModuleViews.get(ns);
  if (view === undefined) {
    const made = Object.create(null) as Record<string, unknown>;
    for (const key of Object.keys(ns))
      Object.defineProperty(made, key, { enumerable: true, get: () => ns[key] });
    Object.defineProperty(made, '__esModule', { value: true });
    esModuleViews.set(ns, made);
    view = made;
  }
  return view;
}

function isNamespace(x: unknown): x is Record<string, unknown> {
  return (
    typeof x === 'object' && x !== null && Object.prototype.toString.call(x) === '[object Module]'
  );
}

/**
 * Imports a resolved external the way the bundle's `require` hands it out: a CommonJS package
 * as its `module.exports` (the same object `import` wraps, found in the CommonJS cache `import`
 * fills), an ES module as {@link esModuleView} of its namespace.
 */
async function importExternal(url: string): Promise<unknown> {
  const ns = (await import(url)) as Record<string, unknown>;
  const cached = url.startsWith('file:') ? hostRequire.cache[fileURLToPath(url)] : undefined;
  return cached === undefined ? esModuleView(ns) : (cached.exports as unknown);
}

/**
 * `require("<url>")` calls of a function-body bundle that run when it is evaluated (its static
 * imports), as opposed to those inside `Promise.resolve().then(() => ...)`, which esbuild writes
 * for a dynamic `import()` and which run later.
 */
function staticRequires(text: string, urls: ReadonlySet<string>): string[] {
  const found = new Set<string>();
  const re = /(Promise\.resolve\(\)\.then\(\(\) => (?:__toESM\()?)?require\("([^"\\]+)"\)/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const url = m[2]!;
    if (m[1] === undefined && urls.has(url)) found.add(url);
  }
  return [...found];
}

/**
 * Evaluates a prepared bundle and returns its exports.
 *
 * An ES module is imported from its `data:` URL (Node keeps it until the process exits). A
 * function body is compiled with `vm.compileFunction` in the main context and called like a
 * CommonJS module; only the returned exports (and what the model keeps of them) hold it, so it
 * is collected with the model. Its `require` gives: the externals (imported before the body
 * runs when the body uses them at once, else loaded on first use), Node's built-ins, and
 * anything else as `require` from the bundle file would.
 *
 * @param prepared - From {@link prepareBundle}.
 * @returns The bundle's exports.
 * @throws Whatever importing, compiling or running the bundle throws (the caller codes it).
 */
export async function evaluateBundle(prepared: PreparedBundle): Promise<BundleExports> {
  if (prepared.format === 'esm') {
    const ns = (await import(prepared.url)) as Record<string, unknown>;
    return { get: (name) => ns[name], names: () => Object.keys(ns) };
  }
  const file = fileURLToPath(prepared.fileUrl);
  const urls = new Set(Object.values(prepared.resolved));
  const loaded = new Map<string, unknown>();
  for (const [spec, url] of Object.entries(prepared.resolved)) {
    const ns = provided().get(spec);
    if (ns !== undefined) loaded.set(url, esModuleView(ns));
  }
  for (const url of staticRequires(prepared.text, urls))
    if (!loaded.has(url)) loaded.set(url, await importExternal(url));
  const fromBundle = createRequire(file);
  const require = Object.assign(
    (spec: string): unknown => {
      if (loaded.has(spec)) return loaded.get(spec);
      if (isBuiltin(spec)) return hostRequire(spec);
      if (spec.startsWith('file:')) {
        // An external first used after evaluation (a dynamic import): Node's require of an ES
        // module (20.19+) returns the namespace of the instance `import` would give.
        const m: unknown = hostRequire(fileURLToPath(spec));
        const value = isNamespace(m) ? esModuleView(m) : m;
        loaded.set(spec, value);
        return value;
      }
      return fromBundle(spec);
    },
    { resolve: fromBundle.resolve, cache: fromBundle.cache }
  );
  const fn = compileFunction(
    prepared.text,
    ['exports', 'require', 'module', '__filename', '__dirname'],
    { filename: prepared.fileUrl }
  );
  const module = { exports: {} as unknown };
  fn.call(module.exports, module.exports, require, module, file, dirname(file));
  const exports = module.exports;
  const esm =
    (typeof exports === 'object' || typeof exports === 'function') &&
    exports !== null &&
    (exports as { __esModule?: unknown }).__esModule === true;
  return {
    get: (name) =>
      !esm && name === 'default'
        ? exports
        : (exports as Record<string, unknown> | null | undefined)?.[name],
    names: () => {
      const own =
        typeof exports === 'object' || typeof exports === 'function'
          ? Object.keys(exports as object)
          : [];
      return esm ? own : ['default', ...own];
    },
  };
}

/**
 * Replaces the `data:` URL of a prepared ES module bundle by its file URL in an error's stack
 * (and its causes'). V8 names function frames after `//# sourceURL`, but frames of the module's
 * top-level code still carry the (long) `data:` URL. Function bodies already carry the file URL.
 *
 * @param error - Any thrown value; non-errors are left alone.
 * @param prepared - The bundle the error came from.
 */
export function cleanBundleStack(
  error: unknown,
  prepared: Pick<PreparedBundle, 'url' | 'fileUrl'>
): void {
  if (prepared.url === prepared.fileUrl) return;
  try {
    for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
      if (e.stack?.includes(prepared.url))
        e.stack = e.stack.split(prepared.url).join(prepared.fileUrl);
    }
  } catch {
    // The model's own error class may make `stack` or `cause` throw: leave it as it is.
  }
}
