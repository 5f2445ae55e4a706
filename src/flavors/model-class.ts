/**
 * Finding and inspecting the model class in a bundle's exports, without trusting it: the
 * model's code is foreign, an export may be a Proxy and a getter may throw. Every read of the
 * model's own objects goes through {@link guarded} or {@link orElse}, so such code fails with
 * E_MODEL_IMPORT or E_MODEL_LOAD, never with a bare exception.
 *
 * @module
 */
import { ModelError } from '../errors.js';
import type { BundleExports } from '../package/load-bundle.js';

/** A model class: constructed without arguments. */
export type Ctor = new () => object;

/**
 * Runs `fn` on the model's own objects, turning anything it throws (a throwing getter, a Proxy
 * trap) into `fail(cause)`: the caller names the step and the code. ModelErrors pass through.
 *
 * @param fn - The step.
 * @param fail - Builds the coded error from what was thrown.
 * @returns What `fn` returns.
 * @throws {ModelError} What `fail` builds.
 */
export function guarded<T>(fn: () => T, fail: (cause: unknown) => ModelError): T {
  try {
    return fn();
  } catch (cause) {
    if (ModelError.is(cause)) throw cause;
    throw fail(cause);
  }
}

/** Runs `fn` on the model's own objects; a fallback when it throws (for messages only). */
export function orElse<T>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch {
    return fallback;
  }
}

/**
 * The message of anything thrown, even a value whose `message` or `toString` throws.
 *
 * @param cause - What was thrown.
 * @returns A message.
 */
export function messageOf(cause: unknown): string {
  try {
    return cause instanceof Error ? String(cause.message) : String(cause);
  } catch {
    return Object.prototype.toString.call(cause);
  }
}

function describeExport(x: unknown): string {
  if (x === undefined) return 'nothing (undefined)';
  if (x === null) return 'null';
  if (typeof x === 'function')
    return 'a function that is not a constructor (an arrow function or method)';
  if (typeof x === 'object') return `an object with keys [${Object.keys(x).join(', ')}]`;
  const text = typeof x === 'string' ? JSON.stringify(x.slice(0, 60)) : String(x);
  return `a ${typeof x} (${text})`;
}

function isConstructor(x: unknown): x is Ctor {
  return typeof x === 'function' && typeof (x as { prototype?: unknown }).prototype === 'object';
}

/**
 * Whether `obj[name]` is a function (reads the property: may throw for foreign objects).
 *
 * @param obj - The object.
 * @param name - The property.
 * @returns True for a method.
 */
export function hasMethod(obj: object, name: string): boolean {
  return typeof (obj as Record<string, unknown>)[name] === 'function';
}

/**
 * The method names along a prototype chain, for messages.
 *
 * @param proto - Where to start.
 * @returns The names (at most 100 prototypes deep).
 */
export function methodNames(proto: object | null): string[] {
  const names = new Set<string>();
  // Bounded: a Proxy can fake an endless prototype chain.
  for (
    let p = proto, depth = 0;
    p !== null && p !== Object.prototype && depth < 100;
    p = Object.getPrototypeOf(p) as object | null, depth++
  ) {
    for (const n of Object.getOwnPropertyNames(p)) {
      if (n !== 'constructor' && typeof Object.getOwnPropertyDescriptor(p, n)?.value === 'function')
        names.add(n);
    }
  }
  return [...names];
}

/**
 * Reads the export a package names and checks it is a class with the predict method, guarding
 * every read of the model's own objects.
 *
 * @param mod - The bundle's exports.
 * @param entry - The bundle file, for messages.
 * @param exportName - The export holding the class.
 * @param predictFn - The method predict calls.
 * @returns The class, its name for messages, and whether the method is on its prototype.
 * @throws {ModelError} E_MODEL_IMPORT when the export is not a class or reading it throws.
 */
export function findModelClass(
  mod: BundleExports,
  entry: string,
  exportName: string,
  predictFn: string
): { ctor: Ctor; className: string; onPrototype: boolean } {
  const importError = (what: string) => (cause: unknown) =>
    new ModelError('E_MODEL_IMPORT', `Model code "${entry}": ${what} threw: ${messageOf(cause)}`, {
      details: { file: entry, exportName },
      cause,
    });
  const found = guarded(() => mod.get(exportName), importError(`reading export "${exportName}"`));
  if (!guarded(() => isConstructor(found), importError(`inspecting export "${exportName}"`))) {
    const described = orElse(() => describeExport(found), 'a value that cannot be inspected');
    const names = orElse(() => mod.names().join(', '), '?');
    throw new ModelError(
      'E_MODEL_IMPORT',
      `Model code "${entry}" must export a class as "${exportName}", found ${described} ` +
        `(exports: ${names || 'none'})`,
      { details: { file: entry, exportName } }
    );
  }
  const ctor = found as Ctor;
  const className = orElse(() => {
    const name: unknown = ctor.name;
    return typeof name === 'string' && name !== '' ? name : exportName;
  }, exportName);
  const onPrototype = guarded(
    () => hasMethod(ctor.prototype, predictFn),
    importError(`reading "${predictFn}" of class ${className}`)
  );
  return { ctor, className, onPrototype };
}

/**
 * An E_MODEL_LOAD error for a lifecycle step of the model that threw.
 *
 * @param what - The step (e.g. `loadContext of model class M threw`).
 * @param file - The bundle file.
 * @param cause - What was thrown.
 * @returns The error to throw.
 */
export function loadError(what: string, file: string, cause: unknown): ModelError {
  return new ModelError('E_MODEL_LOAD', `${what}: ${messageOf(cause)}`, {
    details: { file },
    cause,
  });
}
