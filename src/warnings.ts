/**
 * How jsfunc reports non-fatal problems (extra columns dropped, unknown params ignored,
 * version drift). Functions that can warn take a {@link WarnFn}; the default emits a Node
 * process warning, which callers can observe with `process.on('warning', ...)`.
 *
 * @module
 */

/** Receives one warning message. */
export type WarnFn = (message: string) => void;

/** The default {@link WarnFn}: `process.emitWarning(message, 'JsfuncWarning')`. */
export const defaultWarn: WarnFn = (message) => {
  process.emitWarning(message, 'JsfuncWarning');
};
