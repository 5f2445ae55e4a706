/**
 * How threads other than the owner reach the shared-artifact registry: `BroadcastChannel`s.
 *
 * Why BroadcastChannel and not a MessagePort per worker: tinypool owns each worker's
 * `parentPort` (any other message there is a fatal "unexpected message") and gives every worker
 * the same `workerData`, so a port cannot be handed to each worker, nor to the replacement
 * workers it starts after a crash. A channel NAME can: the pool puts the owner's channel name in
 * `workerData`, and any thread of the process, however it was started, can open a channel by
 * that name. Messages are delivered to every other channel of the same name in the process,
 * and a `SharedArrayBuffer` in a message arrives as the same memory (structured clone shares
 * it; nothing is copied).
 *
 * Protocol (requests on the owner's channel, replies on the requester's own reply channel so that
 * a buffer is delivered to one thread, not broadcast to all):
 * - `acquire {id, from, replyTo, path, name}` -> `acquired {id, lease, buffer}` | `failed {id, error}`
 * - `release {lease}` (no reply)
 * - `release-holder {holder}` (no reply): a thread ended, from a pool hosted by a non-owner thread
 *
 * The owner's channel is unref'd: it must not keep a process alive. A requester's reply channel
 * is open (and ref'd) only while it has requests in flight, so an idle worker can still exit.
 * Channels carrying one message are closed right after posting; a posted message is delivered
 * even when its sender closes at once.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { BroadcastChannel, threadId } from 'node:worker_threads';
import { deserializeError, serializeError, type WireError } from '../errors.js';
import type { ArtifactGrant, SharedArtifactRegistry } from './shared-artifact-registry.js';

/** A request to the owner. */
export type ArtifactRequest =
  | { kind: 'acquire'; id: number; from: number; replyTo: string; path: string; name: string }
  | { kind: 'release'; lease: number }
  | { kind: 'release-holder'; holder: number };

/** The owner's reply to an `acquire`. */
export type ArtifactReply =
  | { kind: 'acquired'; id: number; lease: number; buffer: SharedArrayBuffer }
  | { kind: 'failed'; id: number; error: WireError };

/** Prefix of every channel name of this protocol (version 1). */
const kPrefix = 'jsfunc:shared-artifacts:v1:';

/** Posts one message on a channel opened for it. */
function postOnce(name: string, message: ArtifactRequest | ArtifactReply): void {
  const channel = new BroadcastChannel(name);
  try {
    channel.postMessage(message);
  } finally {
    channel.close();
  }
}

/**
 * Serves a registry to the other threads of the process.
 *
 * @param registry - the owner's registry
 * @returns the channel name to give to other threads, and a function that stops serving
 */
export function serveRegistry(registry: SharedArtifactRegistry): { name: string; stop(): void } {
  const name = `${kPrefix}${randomUUID()}`;
  const channel = new BroadcastChannel(name);
  channel.onmessage = (event: unknown) => {
    const message = (event as { data: ArtifactRequest }).data;
    if (message.kind === 'release') registry.release(message.lease);
    else if (message.kind === 'release-holder') registry.releaseHolder(message.holder);
    else if (message.kind === 'acquire') {
      const { id, replyTo } = message;
      registry.acquire(message.path, message.name, message.from).then(
        (grant) => postOnce(replyTo, { kind: 'acquired', id, ...grant }),
        (error: unknown) => postOnce(replyTo, { kind: 'failed', id, error: serializeError(error) })
      );
    }
  };
  channel.unref();
  return { name, stop: () => channel.close() };
}

/** A thread's handle on a registry served by another thread. */
export class RemoteArtifactRegistry {
  readonly #owner: string;
  readonly #replyTo = `${kPrefix}reply:${randomUUID()}`;
  readonly #pending = new Map<
    number,
    { resolve(grant: ArtifactGrant): void; reject(error: unknown): void }
  >();
  #replies: BroadcastChannel | undefined;
  #nextId = 1;

  /**
   * @param owner - the owner's channel name (from {@link serveRegistry})
   */
  constructor(owner: string) {
    this.#owner = owner;
  }

  /** The owner's channel name (handed on to pools this thread creates). */
  get channel(): string {
    return this.#owner;
  }

  /**
   * Asks the owner for a lease on a file's shared bytes.
   *
   * @param path - absolute path of the artifact file
   * @param name - the artifact's name, for messages
   * @returns the lease and the buffer
   * @throws {ModelError} what the owner's registry throws, rebuilt on this thread
   */
  acquire(path: string, name: string): Promise<ArtifactGrant> {
    const id = this.#nextId++;
    // Listen before asking, so the reply cannot arrive first.
    this.#listen();
    return new Promise<ArtifactGrant>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      postOnce(this.#owner, {
        kind: 'acquire',
        id,
        from: threadId,
        replyTo: this.#replyTo,
        path,
        name,
      });
    });
  }

  /**
   * Releases a lease.
   *
   * @param lease - from {@link acquire}
   */
  release(lease: number): void {
    postOnce(this.#owner, { kind: 'release', lease });
  }

  /**
   * Tells the owner that a thread ended (its leases are released).
   *
   * @param holder - the ended thread's `threadId`
   */
  releaseHolder(holder: number): void {
    postOnce(this.#owner, { kind: 'release-holder', holder });
  }

  #listen(): void {
    if (this.#replies !== undefined) return;
    const replies = new BroadcastChannel(this.#replyTo);
    replies.onmessage = (event: unknown) => {
      const reply = (event as { data: ArtifactReply }).data;
      const waiter = this.#pending.get(reply.id);
      if (waiter === undefined) return;
      this.#pending.delete(reply.id);
      if (reply.kind === 'acquired') waiter.resolve({ lease: reply.lease, buffer: reply.buffer });
      else waiter.reject(deserializeError(reply.error));
      if (this.#pending.size === 0) {
        this.#replies = undefined;
        replies.close();
      }
    };
    this.#replies = replies;
  }
}
