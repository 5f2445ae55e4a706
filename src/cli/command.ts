/**
 * The shapes shared by the CLI commands: where output goes ({@link CliIo}) and what a command
 * module provides ({@link Command}).
 *
 * @module
 */
import type { WarnFn } from '../warnings.js';
import type { FlagValues, OptionTable } from './args.js';

/** Something text can be written to (a stream, or a test's collector). */
export interface TextSink {
  write(chunk: string): unknown;
}

/** Where the CLI reads and writes; `process` in the bin, collectors in tests. */
export interface CliIo {
  /** Results (`predict` JSON, `info` text, `--json` summaries). */
  stdout: TextSink;
  /** Errors, warnings, progress and summaries. */
  stderr: TextSink;
  /** Whether stderr is a terminal: draws a redrawn progress bar instead of one summary line. */
  isTTY: boolean;
  /** Request body source for `predict -i -`; default `process.stdin`. */
  stdin?: AsyncIterable<string | Uint8Array>;
  /** Terminal width for the progress bar; default 80. */
  columns?: number;
  /** Stops a running command (the bin aborts it on SIGINT/SIGTERM); it fails with E_ABORTED. */
  signal?: AbortSignal;
}

/** What a command receives besides its flags. */
export interface CommandContext {
  io: CliIo;
  /** `--verbose` was given. */
  verbose: boolean;
  /** Writes `jsfunc: warning: ...` lines to stderr. */
  warn: WarnFn;
}

/** One `jsfunc <name>` command. */
export interface Command {
  name: string;
  /** One line for the top-level help. */
  summary: string;
  /** The synopsis printed after `usage:` on a usage error. */
  usage: string;
  /** The full `--help` text (synopsis, flags, notes). */
  help: string;
  /** Whether the command takes bare arguments (`jsfunc commit DIR`). Default false. */
  positionals?: boolean;
  /** Flags, as `node:util.parseArgs` takes them (`--help`/`--verbose` are added). */
  options: OptionTable;
  /** Runs the command; resolves to the exit status (0 on success). */
  run(values: FlagValues, positionals: string[], ctx: CommandContext): Promise<number>;
}
