#!/usr/bin/env node
/**
 * The `jsfunc` bin: runs {@link runCli} on the process arguments and streams. SIGINT/SIGTERM
 * abort the running command (a `score` run then removes its temporary output) instead of
 * killing the process mid-write; a second signal exits at once.
 *
 * @module
 */
import { runCli } from './run-cli.js';

const controller = new AbortController();
let signals = 0;
const onSignal = (signal: NodeJS.Signals): void => {
  signals++;
  if (signals > 1) process.exit(130);
  controller.abort(new Error(`received ${signal}`));
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  isTTY: process.stderr.isTTY === true,
  columns: process.stderr.columns || 80,
  signal: controller.signal,
});
process.off('SIGINT', onSignal);
process.off('SIGTERM', onSignal);
