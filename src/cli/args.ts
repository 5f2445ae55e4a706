/**
 * Argument parsing for the `jsfunc` CLI: a thin strict layer over `node:util.parseArgs`, and
 * the value checks every command shares (JSON options, positive integers, comma lists).
 *
 * Two kinds of failure, two exit statuses: a {@link UsageError} (unknown command or flag, a flag
 * without its value, a missing required flag) exits 2 with a usage line, as POSIX tools do; a
 * flag whose value is wrong (`--workers 0`, `--params '[1]'`) is a ModelError E_OPTION_INVALID,
 * because the command line was well formed and the value is what is wrong.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ModelError } from '../errors.js';

/** The option table of one command, as `parseArgs` takes it. */
export type OptionTable = NonNullable<ParseArgsConfig['options']>;

/** Parsed flag values: strings, booleans, or arrays of them for `multiple` flags. */
export type FlagValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** A malformed command line: reported with a short usage line, exit status 2. */
export class UsageError extends Error {
  /**
   * @param message - what is wrong, one line
   * @param command - the command whose usage line to print; default: the top-level usage
   */
  constructor(
    message: string,
    readonly command?: string
  ) {
    super(message);
  }

  override get name(): string {
    return 'UsageError';
  }
}

/** Flags every command accepts. */
export const COMMON_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  verbose: { type: 'boolean', short: 'v' },
} as const satisfies OptionTable;

/**
 * Parses one command's flags strictly (unknown flags and missing values are usage errors).
 *
 * @param command - the command name, for the usage line
 * @param argv - the arguments after the command name
 * @param options - the command's option table (the common flags are added)
 * @param allowPositionals - whether bare arguments are allowed; default false
 * @returns the flag values and positionals
 * @throws {UsageError} for anything `parseArgs` rejects
 */
export function parseCommandArgs(
  command: string,
  argv: readonly string[],
  options: OptionTable,
  allowPositionals = false
): { values: FlagValues; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: { ...COMMON_OPTIONS, ...options },
      strict: true,
      allowPositionals,
    });
    return { values: values as FlagValues, positionals };
  } catch (e) {
    // parseArgs throws TypeErrors with codes ERR_PARSE_ARGS_*; their messages are one line but
    // long-winded ("Unknown option '--x'. To specify a positional argument starting with..."),
    // so keep only the first sentence.
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      const message = (e as Error).message.split('. ')[0]!.replace(/\.$/, '');
      throw new UsageError(message, command);
    }
    throw e;
  }
}

/**
 * Reads a string flag that must be present.
 *
 * @param values - parsed values
 * @param name - the flag's long name
 * @param command - the command, for the usage line
 * @returns the value
 * @throws {UsageError} when the flag is absent or empty
 */
export function requireString(values: FlagValues, name: string, command: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '')
    throw new UsageError(`missing required option --${name}`, command);
  return v;
}

/**
 * Reads an optional string flag.
 *
 * @param values - parsed values
 * @param name - the flag's long name
 * @returns the value, or undefined when absent
 */
export function optionalString(values: FlagValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

function invalidFlag(flag: string, rule: string, found: string): ModelError {
  return new ModelError('E_OPTION_INVALID', `--${flag} ${rule}, found ${JSON.stringify(found)}`, {
    details: { option: flag, value: found },
  });
}

/**
 * Reads an optional integer flag.
 *
 * @param values - parsed values
 * @param name - the flag's long name
 * @param min - the smallest allowed value; default 1
 * @returns the number, or undefined when absent
 * @throws {ModelError} E_OPTION_INVALID when the text is not an integer >= `min`
 */
export function optionalInt(values: FlagValues, name: string, min = 1): number | undefined {
  const v = optionalString(values, name);
  if (v === undefined) return undefined;
  const n = /^[+]?\d+$/.test(v.trim()) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min) {
    throw invalidFlag(
      name,
      min === 0 ? 'must be a non-negative integer' : `must be an integer >= ${min}`,
      v
    );
  }
  return n;
}

/**
 * Reads an optional flag holding a JSON object (`--params '{"k": 1}'`).
 *
 * @param values - parsed values
 * @param name - the flag's long name
 * @returns the object, or undefined when absent
 * @throws {ModelError} E_OPTION_INVALID when the text is not JSON or not an object
 */
export function optionalJsonObject(
  values: FlagValues,
  name: string
): Record<string, unknown> | undefined {
  const v = optionalString(values, name);
  if (v === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch (cause) {
    throw new ModelError(
      'E_OPTION_INVALID',
      `--${name} must be a JSON object, found invalid JSON ${JSON.stringify(v)} (${(cause as Error).message})`,
      { details: { option: name }, cause }
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw invalidFlag(name, 'must be a JSON object', v);
  }
  return parsed as Record<string, unknown>;
}

/**
 * Reads an optional comma-separated list (`--columns a,b`); blanks around names are trimmed.
 *
 * @param values - parsed values
 * @param name - the flag's long name
 * @returns the names, or undefined when absent
 * @throws {ModelError} E_OPTION_INVALID when the list has an empty name
 */
export function optionalList(values: FlagValues, name: string): string[] | undefined {
  const v = optionalString(values, name);
  if (v === undefined) return undefined;
  const items = v.split(',').map((s) => s.trim());
  if (items.some((s) => s === ''))
    throw invalidFlag(name, 'must be a comma-separated list of names', v);
  return items;
}

/**
 * Reads a repeatable `name=value` flag (`--artifact weights=w.json --artifact vocab=v.txt`).
 *
 * @param values - parsed values
 * @param name - the flag's long name
 * @returns name -> value (empty when absent)
 * @throws {ModelError} E_OPTION_INVALID for an item without `=`, or a name given twice
 */
export function keyValueList(values: FlagValues, name: string): Record<string, string> {
  const v = values[name];
  const items = v === undefined ? [] : Array.isArray(v) ? v : [v];
  const out: Record<string, string> = {};
  for (const item of items) {
    const text = String(item);
    const eq = text.indexOf('=');
    if (eq <= 0 || eq === text.length - 1) throw invalidFlag(name, 'must be name=value', text);
    const key = text.slice(0, eq);
    if (key in out) throw invalidFlag(name, `names must be unique ('${key}' is given twice)`, text);
    out[key] = text.slice(eq + 1);
  }
  return out;
}

/**
 * Reads `--load-timeout-ms` (shared by `predict`, `serve` and `score`): milliseconds, 0 for no limit.
 *
 * @param values - parsed flags
 * @returns the timeout (Infinity for 0), or undefined when absent (the default applies)
 * @throws {ModelError} E_OPTION_INVALID when not a non-negative integer
 */
export function loadTimeoutFlag(values: FlagValues): number | undefined {
  const ms = optionalInt(values, 'load-timeout-ms', 0);
  return ms === 0 ? Number.POSITIVE_INFINITY : ms;
}

/** The `--tracking-uri` flag of every command that takes a model (`-m`). */
export const kTrackingUriOption = { type: 'string' } as const;

/**
 * Reads `--tracking-uri`.
 *
 * @param values - parsed flags
 * @returns `{ trackingUri }` when given, else `{}` (spread into loadModel/sparkUdf options)
 * @throws {ModelError} E_OPTION_INVALID for an empty value
 */
export function trackingUriFlag(values: FlagValues): { trackingUri?: string } {
  const v = optionalString(values, 'tracking-uri');
  if (v === undefined) return {};
  if (v.trim() === '') throw invalidFlag('tracking-uri', 'must not be empty', v);
  return { trackingUri: v };
}
