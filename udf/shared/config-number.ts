/**
 * Typed access to model config values for the example models.
 *
 * @module
 */

/**
 * Reads a numeric config value, falling back to a default when absent.
 *
 * @param modelConfig - the model's config
 * @param key - config key
 * @param fallback - value used when the key is absent
 * @returns the number
 * @throws {Error} when the value is present but not a finite number
 */
export function configNumber(
  modelConfig: Readonly<Record<string, unknown>>,
  key: string,
  fallback: number
): number {
  const value = modelConfig[key] ?? fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new Error(`modelConfig.${key} must be a finite number; found ${JSON.stringify(value)}`);
  }
  return value;
}
