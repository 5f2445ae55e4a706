/**
 * The E_SIGNATURE_INVALID error builder shared by the signature JSON readers and validators.
 *
 * @module
 */
import { ModelError } from '../errors.js';

/** An E_SIGNATURE_INVALID {@link ModelError} with `details` and an optional `cause`. */
export function invalid(
  message: string,
  details: Record<string, unknown> = {},
  cause?: unknown
): ModelError {
  return new ModelError('E_SIGNATURE_INVALID', message, { details, cause });
}
