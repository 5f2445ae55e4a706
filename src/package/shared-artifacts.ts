/**
 * `context.sharedArtifact(name)`: an artifact's bytes in shared memory, read once per process
 * and seen by every thread that loads a model using it (the workers of every pool, and the
 * calling thread).
 *
 * Who reads: one thread per process owns the registry (`shared-artifact-registry.ts`): the first
 * thread that needs it and was not given an owner, normally the main thread. A pool hands the
 * owner's channel name to its workers (`workerData`), and `worker-entry` connects each worker to
 * it ({@link connectSharedArtifacts}) before any task runs; a pool created inside such a worker
 * passes the same owner on, so nested pools share one registry too. A thread that was started by
 * something else (a user's own `Worker`) owns a registry of its own: its models share bytes
 * with each other and with the pools it creates, not with the rest of the process.
 *
 * The thread's registry handle lives on `globalThis` under a `Symbol.for` key, so every copy of
 * this module in one thread (the bundled worker and `dist/`, or two installed jsfunc copies
 * speaking the same protocol version) uses the same one.
 *
 * Lifetime: each loaded model has an {@link ArtifactScope}; every artifact it asks for is leased
 * from the registry once (repeated calls return the same view) and held until the model is
 * released (`LoadedModel.release()`, a worker's cache evicting it, or the model object being
 * garbage-collected: {@link releaseWhenCollected}). When the last lease on a file goes, the
 * registry forgets its buffer; the memory is returned once every thread has also dropped its
 * views (the released models and whatever they derived from the bytes).
 *
 * @module
 */
import { threadId } from 'node:worker_threads';
import { ModelError } from '../errors.js';
import { RemoteArtifactRegistry, serveRegistry } from './shared-artifact-channel.js';
import {
  SharedArtifactRegistry,
  type ArtifactGrant,
  type SharedArtifactStats,
} from './shared-artifact-registry.js';

export type { SharedArtifactStats } from './shared-artifact-registry.js';

/** Where this thread's artifact leases come from: its own registry, or another thread's. */
interface ArtifactSource {
  /** `local`: this thread's own registry; `remote`: another thread's, by channel. */
  readonly kind: 'local' | 'remote';
  acquire(path: string, name: string): Promise<ArtifactGrant>;
  release(lease: number): void;
  releaseHolder(holder: number): void;
  /** The channel name pools created on this thread give their workers. */
  channel(): string;
  /** The registry's counters; null when the registry lives on another thread. */
  stats(): SharedArtifactStats | null;
}

class LocalSource implements ArtifactSource {
  readonly kind = 'local';
  readonly registry = new SharedArtifactRegistry();
  #served: { name: string } | undefined;

  acquire(path: string, name: string): Promise<ArtifactGrant> {
    return this.registry.acquire(path, name, threadId);
  }

  release(lease: number): void {
    this.registry.release(lease);
  }

  releaseHolder(holder: number): void {
    this.registry.releaseHolder(holder);
  }

  channel(): string {
    this.#served ??= serveRegistry(this.registry);
    return this.#served.name;
  }

  stats(): SharedArtifactStats {
    return this.registry.stats();
  }
}

class RemoteSource implements ArtifactSource {
  readonly kind = 'remote';
  readonly remote: RemoteArtifactRegistry;

  constructor(channel: string) {
    this.remote = new RemoteArtifactRegistry(channel);
  }

  acquire(path: string, name: string): Promise<ArtifactGrant> {
    return this.remote.acquire(path, name);
  }

  release(lease: number): void {
    this.remote.release(lease);
  }

  releaseHolder(holder: number): void {
    this.remote.releaseHolder(holder);
  }

  channel(): string {
    return this.remote.channel;
  }

  stats(): null {
    return null;
  }
}

/** This thread's state, shared by every copy of this module in the thread (see the module comment). */
interface ThreadState {
  source: ArtifactSource | undefined;
}

const kState = Symbol.for('jsfunc.sharedArtifacts.v1');

function threadState(): ThreadState {
  const holder = globalThis as unknown as Record<symbol, ThreadState | undefined>;
  return (holder[kState] ??= { source: undefined });
}

function source(): ArtifactSource {
  const state = threadState();
  return (state.source ??= new LocalSource());
}

/**
 * Makes this thread lease artifacts from the registry served on `channel` (a worker's pool
 * calls this, through `worker-entry`, before any task runs). Models loaded earlier keep the
 * registry they leased from.
 *
 * @param channel - the owner's channel name (from {@link sharedArtifactsChannel} on the owner)
 */
export function connectSharedArtifacts(channel: string): void {
  const state = threadState();
  // Checking the kind first: channel() of a local source would start serving it.
  if (state.source?.kind === 'remote' && state.source.channel() === channel) return;
  state.source = new RemoteSource(channel);
}

/**
 * The channel name a pool created on this thread gives its workers: this thread's own registry
 * (served from now on), or the owner this thread is connected to.
 *
 * @returns a channel name for {@link connectSharedArtifacts}
 */
export function sharedArtifactsChannel(): string {
  return source().channel();
}

/**
 * Releases every lease a thread held (the pool calls this when one of its workers exits:
 * a crashed or terminated worker never releases its own).
 *
 * @param holder - the ended thread's `threadId`
 */
export function releaseThreadArtifacts(holder: number): void {
  source().releaseHolder(holder);
}

/**
 * The registry's counters when this thread owns it (reads, bytes read, entries, leases), for
 * tests and diagnostics.
 *
 * @returns the counters, or null when this thread leases from another thread's registry
 */
export function sharedArtifactStats(): SharedArtifactStats | null {
  return source().stats();
}

/**
 * The shared artifacts of one loaded model: what `context.sharedArtifact` reads through, and
 * what releasing the model gives back.
 */
export class ArtifactScope {
  readonly #artifacts: Readonly<Record<string, string>>;
  readonly #source: ArtifactSource;
  readonly #views = new Map<string, Promise<Uint8Array>>();
  readonly #leases = new Set<number>();
  #released = false;

  /**
   * @param artifacts - artifact name -> absolute path (the context's `artifacts`)
   */
  constructor(artifacts: Readonly<Record<string, string>>) {
    this.#artifacts = artifacts;
    // Leases go back to the registry they came from, even if the thread is reconnected later.
    this.#source = source();
  }

  /**
   * The artifact's bytes as a `Uint8Array` over a `SharedArrayBuffer` (the same memory in every
   * thread). Treat them as read-only: a write is seen by every model in the process using them.
   *
   * @param name - the artifact's name (a key of `context.artifacts`)
   * @returns the bytes; repeated calls return the same view
   * @throws {ModelError} E_ARTIFACT_MISSING for a name the model does not have, a directory
   *   artifact, or an unreadable file; E_MODEL_LOAD when shared memory cannot be allocated, the
   *   file changes while read, or the model was already released
   */
  get(name: string): Promise<Uint8Array> {
    if (this.#released) {
      return Promise.reject(
        new ModelError(
          'E_MODEL_LOAD',
          `sharedArtifact("${String(name)}") was called after the model was released`,
          { details: { artifact: String(name) } }
        )
      );
    }
    if (typeof name !== 'string' || !Object.hasOwn(this.#artifacts, name)) {
      const known = Object.keys(this.#artifacts);
      return Promise.reject(
        new ModelError(
          'E_ARTIFACT_MISSING',
          `The model has no artifact named ${JSON.stringify(name)} ` +
            `(artifacts: ${known.length > 0 ? known.join(', ') : 'none'})`,
          { details: { artifact: String(name), artifacts: known } }
        )
      );
    }
    let view = this.#views.get(name);
    if (view === undefined) {
      view = this.#lease(name, this.#artifacts[name]!);
      this.#views.set(name, view);
      // A failed lease is not kept: the next call asks again (and reports its own failure).
      view.catch(() => {
        if (this.#views.get(name) === view) this.#views.delete(name);
      });
    }
    return view;
  }

  async #lease(name: string, path: string): Promise<Uint8Array> {
    const grant = await this.#source.acquire(path, name);
    if (this.#released) {
      this.#source.release(grant.lease);
      throw new ModelError(
        'E_MODEL_LOAD',
        `The model was released while artifact "${name}" was being read`,
        { details: { artifact: name } }
      );
    }
    this.#leases.add(grant.lease);
    return new Uint8Array(grant.buffer);
  }

  /** Names of the artifacts leased so far. */
  get leased(): string[] {
    return [...this.#views.keys()];
  }

  /** Releases every lease of this model. Idempotent. */
  release(): void {
    this.#released = true;
    for (const lease of this.#leases) this.#source.release(lease);
    this.#leases.clear();
    this.#views.clear();
  }
}

/** Releases a scope when the object owning it (a loaded model) is garbage-collected. */
const collected = new FinalizationRegistry<ArtifactScope>((scope) => scope.release());

/**
 * Releases `scope` when `owner` is garbage-collected, for models nobody releases explicitly
 * (a `loadModel` result simply dropped). Explicit release should be preferred: collection
 * happens at the collector's pace.
 *
 * @param owner - the object whose lifetime bounds the scope (must not be reachable from it)
 * @param scope - the model's artifact scope
 */
export function releaseWhenCollected(owner: object, scope: ArtifactScope): void {
  collected.register(owner, scope, scope);
}

/**
 * Cancels {@link releaseWhenCollected} (the scope was released explicitly).
 *
 * @param scope - the scope registered before
 */
export function forgetScope(scope: ArtifactScope): void {
  collected.unregister(scope);
}
