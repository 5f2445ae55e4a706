/**
 * `jsfunc commit DIR`: the commit step of a sharded scoring job, on its own. Checks that every
 * shard of the job in a dataset directory has finished (each wrote its marker), removes stale
 * parts and temporary files, and writes `_SUCCESS` last. The last shard to finish does this by
 * itself; run it as a final step where shards may not see each other's markers (eventually
 * consistent storage) or to check a job's state.
 *
 * @module
 */
import { ModelError } from '../../errors.js';
import { commitDataset } from '../../io/dataset-output.js';
import { optionalInt } from '../args.js';
import type { Command } from '../command.js';
import { formatCount } from '../progress.js';

const usage = 'commit DIR [--shards N] [--json]';

/** The `commit` command. */
export const commitCommand: Command = {
  name: 'commit',
  summary: 'finish a sharded score job: check every shard is done, then write _SUCCESS',
  usage,
  positionals: true,
  help: `usage: jsfunc ${usage}

Commits the dataset directory DIR written by 'jsfunc score --shard I/N ... -o DIR': when every
shard of the job has finished, removes parts no shard listed and the temporary files, then
writes _SUCCESS. Fails with E_DATASET_INCOMPLETE naming the shards still missing. Idempotent.

      --shards N   the job's shard count (default: the count the shards recorded)
      --json       print the result as JSON on stdout
`,
  options: {
    shards: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(values, positionals, ctx) {
    const dir = positionals[0];
    if (dir === undefined || positionals.length > 1) {
      throw new ModelError('E_OPTION_INVALID', `usage: jsfunc ${usage}`, {
        details: { positionals },
      });
    }
    const shards = optionalInt(values, 'shards');
    const result = await commitDataset(dir, shards !== undefined ? { shards } : {});
    if (!result.committed) {
      throw new ModelError(
        'E_DATASET_INCOMPLETE',
        `${dir}: shard${result.missing.length === 1 ? '' : 's'} ${result.missing.join(', ')} of the job ${result.missing.length === 1 ? 'has' : 'have'} not finished; _SUCCESS is not written.`,
        { details: { dir, missing: result.missing } }
      );
    }
    if (values['json'] === true) ctx.io.stdout.write(`${JSON.stringify(result)}\n`);
    else {
      ctx.io.stderr.write(
        `jsfunc: committed ${dir}: ${result.shards ?? 1} shard(s), ${result.parts?.length ?? 0} parts, ${formatCount(result.rows ?? 0)} rows\n`
      );
    }
    return 0;
  },
};
