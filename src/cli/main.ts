#!/usr/bin/env node
/**
 * The `jsfunc` bin: runs {@link runCli} on the process arguments and streams.
 *
 * Signals (SIGINT, SIGTERM): the first aborts the running command, which stops its work and
 * removes what it was writing (a `score` run's temporary output), then fails with
 * E_INTERRUPTED, exit 130 (`serve` stops and exits 0). A second signal does not cut that
 * cleanup short: it says so and gives it 5 more seconds; a third signal exits at once.
 * Temporary files are named `.<name>.tmp-<pid>-<rand>`, so a later run removes those of a
 * process that was killed outright (SIGKILL) or exited at the third signal.
 *
 * Once the command has answered, the process exits with its status even if something it ran
 * keeps the event loop busy (a model's timers, a load that was given up on, stdin still open).
 * And should the command never answer because it waits on something that can never settle,
 * the process does not end with Node's status 13 (an unsettled top-level await, which is also
 * E_SIGNATURE_INVALID's exit status) and no output: it says so and exits 1.
 *
 * @module
 */
import { ErrorCodes, ModelError } from '../errors.js';
import { runCli } from './run-cli.js';

/** How long the cleanup after a second signal may take before the process exits anyway. */
const kCleanupGraceMs = 5_000;

const kInterruptedExit = ErrorCodes.E_INTERRUPTED.exitCode;
/** Node's exit status for a top-level await that can never settle. */
const kUnsettledTopLevelAwait = 13;

const controller = new AbortController();
let signals = 0;
let answered = false;

const exitNow = (code: number): never => {
  answered = true;
  process.exit(code);
};

const onSignal = (signal: NodeJS.Signals): void => {
  signals++;
  if (signals === 1) {
    controller.abort(
      new ModelError('E_INTERRUPTED', `interrupted by ${signal}`, { details: { signal } })
    );
  } else if (signals === 2) {
    process.stderr.write(
      `jsfunc: ${signal} again: still cleaning up (send it once more to quit at once)\n`
    );
    // When the cleanup ends first, the command answers and the process exits without waiting.
    setTimeout(() => exitNow(kInterruptedExit), kCleanupGraceMs);
  } else {
    exitNow(kInterruptedExit);
  }
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
process.on('exit', () => {
  // Node sets exitCode 13 when the loop empties while the top-level await below is pending.
  if (answered || process.exitCode !== kUnsettledTopLevelAwait) return;
  process.stderr.write(
    'jsfunc: unexpected: the command stopped waiting on work that can never finish ' +
      '(a promise that never settles, e.g. in model code)\n'
  );
  process.exitCode = 1;
});

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  isTTY: process.stderr.isTTY === true,
  columns: process.stderr.columns || 80,
  signal: controller.signal,
});
answered = true;
process.exitCode = code;
process.off('SIGINT', onSignal);
process.off('SIGTERM', onSignal);
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit(code);

/**
 * Resolves once what was written to `stream` so far has been handed to the OS, or at once when
 * the stream is closed or fails (a reader that went away: nothing more can be delivered).
 */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  if (stream.destroyed || stream.writableEnded) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      stream.off('error', done);
      resolve();
    };
    stream.once('error', done);
    try {
      stream.write('', done);
    } catch {
      done();
    }
  });
}
