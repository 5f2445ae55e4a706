/**
 * MLflow's identifier rules (`mlflow/utils/validation.py`, `mlflow/utils/name_utils.py`), as the
 * file store applies them before turning an identifier into a path: they are what keeps
 * `runs:/../../etc/x` or a model named `..` from reading outside the store.
 *
 * @module
 */
import { randomInt, randomUUID } from 'node:crypto';

/** `_RUN_ID_REGEX`: run ids (32 hex digits in practice), also used for logged model ids. */
const RUN_ID = /^[a-zA-Z0-9][\w-]{0,255}$/;

/** `_EXPERIMENT_ID_REGEX`. */
const EXPERIMENT_ID = /^[a-zA-Z0-9][\w-]{0,63}$/;

/** `_validate_model_alias_name`: word characters and `-` (Python's `\w` is Unicode). */
const ALIAS = /^[\p{L}\p{N}_-]+$/u;

/**
 * Whether `id` is a valid run id (`_validate_run_id`).
 *
 * @param id - the candidate
 * @returns true when valid
 */
export function isValidRunId(id: string): boolean {
  return RUN_ID.test(id);
}

/**
 * Whether `id` is a valid experiment id (`_validate_experiment_id`).
 *
 * @param id - the candidate
 * @returns true when valid
 */
export function isValidExperimentId(id: string): boolean {
  return EXPERIMENT_ID.test(id);
}

/**
 * Whether `alias` is a valid registered model alias name.
 *
 * @param alias - the candidate
 * @returns true when valid
 */
export function isValidAlias(alias: string): boolean {
  return ALIAS.test(alias);
}

/**
 * The file registry's model name rule (`_validate_model_name` in
 * `mlflow/store/model_registry/file_store.py`): non-empty, no path separator, no `%`; `.` and
 * `..` are refused too (they would name the registry directory itself or its parent).
 *
 * @param name - the candidate
 * @returns why the name is invalid, or `null` when it is valid
 */
export function modelNameProblem(name: string): string | null {
  if (name.trim() === '') return 'Registered model name cannot be empty';
  if (/[/\\]/.test(name))
    return `Invalid name: '${name}'. Registered model name cannot contain path separator`;
  if (name.includes('%'))
    return `Invalid name: '${name}'. Registered model name cannot contain '%' character`;
  if (name === '.' || name === '..' || name.includes('\0')) return `Invalid name: '${name}'`;
  return null;
}

/**
 * A new run id: `uuid.uuid4().hex`.
 *
 * @returns 32 lowercase hex digits
 */
export function newRunId(): string {
  return randomUUID().replaceAll('-', '');
}

/**
 * A new logged model id, as MLflow 3's file store makes them: `m-` and 32 hex digits.
 *
 * @returns the id
 */
export function newLoggedModelId(): string {
  return `m-${newRunId()}`;
}

/**
 * A new experiment id, as `_generate_unique_integer_id`: 18 decimal digits, no leading zero.
 *
 * @returns the id, as the string MLflow stores
 */
export function newExperimentId(): string {
  let id = String(randomInt(1, 10));
  while (id.length < 18) id += String(randomInt(0, 10));
  return id;
}

// Short lists in the style of `mlflow/utils/name_utils.py` (`_GENERATOR_PREDICATES`, `_GENERATOR_NOUNS`).
const PREDICATES = (
  'able bold brave bright calm clever gentle honest keen lucky ' +
  'merry nimble polite quick silent sincere smiling sneaky swift wise'
).split(' ');
const NOUNS = (
  'ant bass bee cat colt crow deer doe eel finch fox gnu ' +
  'hawk hen jay lark mole owl ram seal shrike sloth wolf wren'
).split(' ');

/**
 * A random run name, `_generate_random_name`: `<predicate>-<noun>-<0..999>`.
 *
 * @returns the name
 */
export function randomRunName(): string {
  return `${PREDICATES[randomInt(PREDICATES.length)]}-${NOUNS[randomInt(NOUNS.length)]}-${randomInt(1000)}`;
}
