import { describe, expect, it } from 'vitest';
import { ErrorCodes, ModelError } from '../../src/errors.js';
import { COMMANDS, describeFailure, oneLine } from '../../src/cli/run-cli.js';
import { UsageError } from '../../src/cli/args.js';
import { cli } from './helpers.js';

describe('runCli', () => {
  it('prints the top-level help and each command help with exit 0', async () => {
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    for (const c of COMMANDS) expect(top.stdout).toContain(`  ${c.name} `);
    for (const c of COMMANDS) {
      const run = await cli([c.name, '--help']);
      expect(run.code).toBe(0);
      expect(run.stdout.startsWith(`usage: jsfunc ${c.usage}\n`)).toBe(true);
      // Every flag of the command is documented in its help.
      for (const flag of Object.keys(c.options))
        expect(run.stdout, `${c.name} --${flag}`).toContain(`--${flag}`);
    }
    expect((await cli(['help', 'score'])).stdout).toContain('usage: jsfunc score');
  });

  it('usage errors exit 2 with the message and a usage line', async () => {
    const none = await cli([]);
    expect(none).toEqual({
      code: 2,
      stdout: '',
      stderr: expect.stringMatching(
        /^jsfunc: missing command\nusage: jsfunc <predict\|score\|commit\|stream\|info\|save\|serve>/
      ),
    });
    const unknown = await cli(['train']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.split('\n')[0]).toBe("jsfunc: unknown command 'train'");
    const flag = await cli(['info', '-m', 'x', '--frobnicate']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toBe(
      "jsfunc: Unknown option '--frobnicate'\nusage: jsfunc info -m MODEL [--json] [--rows N]\n"
    );
    const value = await cli(['info', '-m']);
    expect(value.code).toBe(2);
    expect(value.stderr.split('\n')[0]).toMatch(
      /^jsfunc: Option '-m, --model <value>' argument missing$/
    );
    const positional = await cli(['info', 'model-dir']);
    expect(positional.code).toBe(2);
    const required = await cli(['info']);
    expect(required.stderr.split('\n')[0]).toBe('jsfunc: missing required option --model');
  });

  it('prints the version', async () => {
    const run = await cli(['--version']);
    expect(run.stdout).toMatch(/^jsfunc \d+\.\d+\.\d+\n$/);
  });
});

describe('describeFailure', () => {
  it('gives every ModelError code its own exit status and a one-line message', () => {
    const seen = new Set<number>();
    for (const code of Object.keys(ErrorCodes) as (keyof typeof ErrorCodes)[]) {
      const { text, exitCode } = describeFailure(new ModelError(code, 'first line\n  second line'));
      expect(text).toBe(`jsfunc: ${code}: first line second line\n`);
      expect(exitCode).toBe(ErrorCodes[code].exitCode);
      expect([0, 1, 2]).not.toContain(exitCode);
      seen.add(exitCode);
    }
    expect(seen.size).toBe(Object.keys(ErrorCodes).length);
  });

  it('exits 1 for unexpected errors and 2 for usage errors', () => {
    expect(describeFailure(new TypeError('boom'))).toEqual({
      text: 'jsfunc: unexpected TypeError: boom\n',
      exitCode: 1,
    });
    expect(describeFailure('text thrown')).toEqual({
      text: 'jsfunc: unexpected Error: text thrown\n',
      exitCode: 1,
    });
    expect(describeFailure(new UsageError('bad', 'info')).exitCode).toBe(2);
  });

  it('--verbose adds details, the stack and the cause chain', () => {
    const root = new RangeError('deep cause');
    const error = new ModelError('E_MODEL_PREDICT', 'predict failed', {
      details: { batchIndex: 3 },
      cause: root,
    });
    const { text } = describeFailure(error, true);
    const lines = text.split('\n');
    expect(lines[0]).toBe('jsfunc: E_MODEL_PREDICT: predict failed');
    expect(lines[1]).toBe('details: {"batchIndex":3}');
    expect(text).toContain('ModelError: predict failed\n    at ');
    expect(text).toContain('Caused by: RangeError: deep cause\n    at ');
  });

  it('verbose through runCli prints the stack on stderr', async () => {
    const run = await cli(['info', '-m', '/nonexistent/model', '--verbose']);
    expect(run.code).toBe(ErrorCodes.E_MLMODEL_MISSING.exitCode);
    expect(run.stderr.split('\n').length).toBeGreaterThan(3);
    expect(run.stderr).toMatch(/\n {4}at /);
  });

  it('oneLine collapses line breaks', () => {
    expect(oneLine(' a\r\n b\n\nc ')).toBe('a b c');
  });
});
