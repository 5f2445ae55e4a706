/**
 * The process's table of shared artifacts, kept by ONE thread (the owner, normally the main
 * thread): which files are in shared memory, who holds them, and the read counters.
 *
 * Concurrency: every method runs on the owner's event loop, so "look the file up, else insert
 * a pending read" is one uninterrupted step after the `open`/`fstat` that names the file. A
 * second loader of the same file (another worker's request, or a model on the owner thread)
 * finds the pending entry and awaits the same read: one read per file, however many threads
 * ask at once. Other threads reach the table through `shared-artifact-channel.ts`.
 *
 * Lifetime: a lease is taken per (model load, artifact). The lease is registered BEFORE the read
 * is awaited, so a concurrent last release cannot drop an entry someone is still waiting on. When
 * an entry's last lease is released, the entry is deleted and the table drops its reference to
 * the buffer. The memory itself is freed by the garbage collectors once no thread holds a view
 * of it any more (each thread's models, and the views they derived); a terminated worker's views
 * go with its isolate.
 *
 * Dead holders: a worker that crashes or is terminated never releases its leases. The pool
 * reports its thread id ({@link SharedArtifactRegistry.releaseHolder}); the id is remembered, so
 * a lease granted to that thread after it died (its request was in flight) is released at once.
 * Thread ids are never reused within a process.
 *
 * @module
 */
import { openArtifact, readShared } from './shared-artifact-file.js';

/** Counters of a {@link SharedArtifactRegistry}. */
export interface SharedArtifactStats {
  /** Files currently in shared memory (or being read). */
  entries: number;
  /** Leases held on them. */
  leases: number;
  /** Files read since the registry was created (a file read again after eviction counts twice). */
  reads: number;
  /** Bytes read since the registry was created. */
  bytesRead: number;
}

/** A granted lease: its id (to release it) and the shared bytes. */
export interface ArtifactGrant {
  lease: number;
  buffer: SharedArrayBuffer;
}

interface Entry {
  key: string;
  buffer: Promise<SharedArrayBuffer>;
  leases: Set<number>;
}

/** See the module comment. */
export class SharedArtifactRegistry {
  readonly #entries = new Map<string, Entry>();
  readonly #leases = new Map<number, { entry: Entry; holder: number }>();
  readonly #gone = new Set<number>();
  #nextLease = 1;
  #reads = 0;
  #bytesRead = 0;

  /**
   * Leases the shared bytes of a file, reading it on the first request.
   *
   * @param path - absolute path of the artifact file
   * @param name - the artifact's name, for messages
   * @param holder - `threadId` of the thread the lease is for
   * @returns the lease id and the buffer
   * @throws {ModelError} E_ARTIFACT_MISSING (absent, a directory, unreadable); E_MODEL_LOAD
   *   (no memory, file changed size while read). Every waiter of a failed read gets its error,
   *   and the next request reads again.
   */
  async acquire(path: string, name: string, holder: number): Promise<ArtifactGrant> {
    const opened = await openArtifact(path, name);
    let entry = this.#entries.get(opened.key);
    if (entry === undefined) {
      this.#reads++;
      const reading = readShared(opened, name).finally(() => opened.handle.close());
      const created: Entry = { key: opened.key, buffer: reading, leases: new Set() };
      this.#entries.set(opened.key, created);
      reading.then(
        () => {
          this.#bytesRead += opened.size;
        },
        () => {
          if (this.#entries.get(created.key) === created) this.#entries.delete(created.key);
        }
      );
      entry = created;
    } else {
      // Not awaited: the lease must be registered in this same step, or the entry's last
      // release could run meanwhile and drop it, and this loader would hold bytes the table no
      // longer knows (the next loader would read the file a second time).
      void opened.handle.close().catch(() => undefined);
    }
    const lease = this.#nextLease++;
    entry.leases.add(lease);
    this.#leases.set(lease, { entry, holder });
    let buffer: SharedArrayBuffer;
    try {
      buffer = await entry.buffer;
    } catch (error) {
      this.release(lease);
      throw error;
    }
    // The holder died while its request was in flight: nobody will ever release this lease.
    if (this.#gone.has(holder)) this.release(lease);
    return { lease, buffer };
  }

  /**
   * Releases one lease; the entry goes when its last lease does.
   *
   * @param lease - from {@link acquire}
   * @returns false when the lease was unknown (already released)
   */
  release(lease: number): boolean {
    const held = this.#leases.get(lease);
    if (held === undefined) return false;
    this.#leases.delete(lease);
    const { entry } = held;
    entry.leases.delete(lease);
    if (entry.leases.size === 0 && this.#entries.get(entry.key) === entry) {
      this.#entries.delete(entry.key);
    }
    return true;
  }

  /**
   * Releases every lease of a thread that ended, and remembers it as gone.
   *
   * @param holder - the ended thread's `threadId`
   * @returns how many leases were released
   */
  releaseHolder(holder: number): number {
    this.#gone.add(holder);
    let released = 0;
    for (const [lease, held] of [...this.#leases]) {
      if (held.holder === holder && this.release(lease)) released++;
    }
    return released;
  }

  /** The counters (see {@link SharedArtifactStats}). */
  stats(): SharedArtifactStats {
    return {
      entries: this.#entries.size,
      leases: this.#leases.size,
      reads: this.#reads,
      bytesRead: this.#bytesRead,
    };
  }
}
