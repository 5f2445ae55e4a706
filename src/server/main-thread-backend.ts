/**
 * The main-thread backend: each request is parsed, checked and predicted on the event loop,
 * one `predict` call per request, as MLflow's own server does. No thread hop, so it is the
 * fastest mode for trivial models; a slow synchronous model holds the event loop (and `/ping`)
 * while it runs. `serve` uses it unless `workers` is set.
 *
 * @module
 */
import type { LoadedModel } from '../package/types.js';
import type { ModelSignature } from '../signature/types.js';
import type { WarnFn } from '../warnings.js';
import { emptyStats, type BackendStats, type ScoringBackend } from './backend.js';
import {
  parseInvocation,
  predictOne,
  type Invocation,
  type InvocationReply,
} from './invocation.js';

/**
 * Scores requests with a model loaded on this thread.
 *
 * @param model - the loaded model
 * @param warn - receives per-request warnings (dropped columns, ignored params)
 * @returns the backend (its `close` does not release the model: the caller owns it)
 */
export function mainThreadBackend(model: LoadedModel, warn: WarnFn): ScoringBackend {
  const stats = emptyStats('main-thread', 0);
  return {
    get signature(): ModelSignature | null {
      return model.signature;
    },
    async invoke(invocation: Invocation): Promise<InvocationReply> {
      stats.requests++;
      // Enforcement happens once, in predict (see predictOne for the error wording).
      const checked = parseInvocation(invocation, model.signature);
      if (!checked.ok) return checked;
      stats.predictCalls++;
      stats.maxRequestsPerCall = Math.max(stats.maxRequestsPerCall, 1);
      stats.rows += checked.prepared.table.numRows;
      return predictOne(model, checked.prepared, warn);
    },
    stats: (): BackendStats => ({ ...stats }),
    close: () => Promise.resolve(),
  };
}
