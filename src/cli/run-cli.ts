/**
 * `runCli`: the whole `jsfunc` command line as a function, so the bin is three lines and tests
 * run every command in-process with captured output.
 *
 * Exit statuses: 0 success; 2 usage error (unknown command or flag, missing required flag);
 * a ModelError's own `exitCode` (distinct per code, see `src/errors.ts`); 1 for anything else.
 * Every failure is one line on stderr, `jsfunc: E_CODE: message`; `--verbose` adds the stack
 * and the cause chain.
 *
 * Interrupts: when `io.signal` was aborted with an E_INTERRUPTED reason (the bin does so on
 * SIGINT/SIGTERM), a command that then fails reports that interruption (`jsfunc: E_INTERRUPTED:
 * interrupted by SIGINT`, exit 130), whatever error the abort made it throw (E_ABORTED,
 * E_POOL_CLOSED, ...); `--verbose` shows that error as the cause.
 *
 * @module
 */
import { ModelError, serializeError, type WireError } from '../errors.js';
import type { WarnFn } from '../warnings.js';
import { UsageError, parseCommandArgs } from './args.js';
import type { CliIo, Command, CommandContext } from './command.js';
import { commitCommand } from './commands/commit.js';
import { infoCommand } from './commands/info.js';
import { predictCommand } from './commands/predict.js';
import { serveCommand } from './commands/serve.js';
import { saveCommand } from './commands/save.js';
import { scoreCommand } from './commands/score.js';
import { streamCommand } from './commands/stream.js';

/** The commands, in help order. */
export const COMMANDS: readonly Command[] = [
  predictCommand,
  scoreCommand,
  commitCommand,
  streamCommand,
  infoCommand,
  saveCommand,
  serveCommand,
];

const TOP_USAGE = `jsfunc <${COMMANDS.map((c) => c.name).join('|')}> [options]  (jsfunc <command> --help)`;

function topHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'jsfunc: package JavaScript models in MLflow format and score data with them.',
    '',
    `usage: ${TOP_USAGE}`,
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'global flags: -h/--help, -v/--verbose (stack traces), --version',
    "exit status: 0 ok, 2 usage error, 1 unexpected error, otherwise the ModelError code's",
    'exit status (see docs/errors.md).',
    '',
  ].join('\n');
}

/** Collapses a message to one line (models and parsers sometimes put newlines in theirs). */
export function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

function causeChain(wire: WireError): string[] {
  const lines: string[] = [];
  if (wire.details !== undefined) lines.push(`details: ${JSON.stringify(wire.details)}`);
  if (wire.stack !== undefined) lines.push(wire.stack);
  else lines.push(`${wire.name}: ${wire.message}`);
  if (wire.cause !== undefined) lines.push(`Caused by: ${causeChain(wire.cause).join('\n')}`);
  return lines;
}

/**
 * Formats a failure the way the CLI prints it and picks the exit status.
 *
 * @param error - what was thrown
 * @param verbose - add the stack and cause chain; default false
 * @returns the stderr text (ending with a newline) and the exit status
 */
export function describeFailure(
  error: unknown,
  verbose = false
): { text: string; exitCode: number } {
  if (error instanceof UsageError) {
    const command = COMMANDS.find((c) => c.name === error.command);
    const usage = command === undefined ? TOP_USAGE : `jsfunc ${command.usage}`;
    return { text: `jsfunc: ${oneLine(error.message)}\nusage: ${usage}\n`, exitCode: 2 };
  }
  let head: string;
  let exitCode: number;
  if (ModelError.is(error)) {
    head = `jsfunc: ${error.code}: ${oneLine(error.message)}`;
    exitCode = error.exitCode;
  } else {
    const e = error instanceof Error ? error : new Error(String(error));
    head = `jsfunc: unexpected ${e.name}: ${oneLine(e.message)}`;
    exitCode = 1;
  }
  if (!verbose) return { text: `${head}\n`, exitCode };
  return { text: `${head}\n${causeChain(serializeError(error)).join('\n')}\n`, exitCode };
}

/**
 * Runs one `jsfunc` command line.
 *
 * @param argv - the arguments after `jsfunc` (e.g. `['score', '-m', 'out/linear', ...]`)
 * @param io - where output goes; see {@link CliIo}
 * @returns the exit status: 0, 2 for usage errors, the ModelError's `exitCode`, or 1
 *
 * @example
 * ```ts
 * const status = await runCli(['info', '-m', 'out/linear'], {
 *   stdout: process.stdout, stderr: process.stderr, isTTY: false,
 * });
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const verbose = argv.includes('--verbose') || argv.includes('-v');
  const warn: WarnFn = (message) => {
    io.stderr.write(`jsfunc: warning: ${oneLine(message)}\n`);
  };
  try {
    const [name, ...rest] = argv;
    if (name === undefined) throw new UsageError('missing command');
    if (name === '--help' || name === '-h' || name === 'help') {
      const sub = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
      io.stdout.write(sub === undefined ? topHelp() : sub.help);
      return 0;
    }
    if (name === '--version') {
      const { jsfuncVersion } = await import('../package/environment.js');
      io.stdout.write(`jsfunc ${jsfuncVersion()}\n`);
      return 0;
    }
    const command = COMMANDS.find((c) => c.name === name);
    if (command === undefined) {
      throw new UsageError(
        name.startsWith('-') ? `expected a command before '${name}'` : `unknown command '${name}'`
      );
    }
    const { values, positionals } = parseCommandArgs(
      command.name,
      rest,
      command.options,
      command.positionals === true
    );
    if (values['help'] === true) {
      io.stdout.write(command.help);
      return 0;
    }
    const ctx: CommandContext = { io, verbose: values['verbose'] === true || verbose, warn };
    return await command.run(values, positionals, ctx);
  } catch (error) {
    const { text, exitCode } = describeFailure(interruption(io.signal, error) ?? error, verbose);
    io.stderr.write(text);
    return exitCode;
  }
}

/**
 * The E_INTERRUPTED error to report instead of `error` when `signal` was aborted with an
 * E_INTERRUPTED reason (see the module comment), else undefined.
 */
function interruption(signal: AbortSignal | undefined, error: unknown): ModelError | undefined {
  const reason: unknown = signal?.aborted === true ? signal.reason : undefined;
  if (!ModelError.is(reason) || reason.code !== 'E_INTERRUPTED') return undefined;
  if (error === reason) return reason;
  return new ModelError(reason.code, reason.message, { details: reason.details, cause: error });
}
