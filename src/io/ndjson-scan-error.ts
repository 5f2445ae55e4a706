/**
 * The failure of the NDJSON byte scanners, and their nesting limit.
 *
 * @module
 */

/** Nesting deeper than this (the record object counts as one level) is refused. */
export const MAX_DEPTH = 1000;

/** A scan failure: `depth` for nesting past {@link MAX_DEPTH}, `syntax` for anything else. */
export class ScanError extends Error {
  /**
   * @param kind - what failed
   * @param at - the byte index where it failed
   */
  constructor(
    readonly kind: 'syntax' | 'depth',
    readonly at: number
  ) {
    super(kind === 'depth' ? `nested deeper than ${MAX_DEPTH} levels` : 'JSON syntax error');
  }

  override get name(): string {
    return 'ScanError';
  }
}
