/**
 * Where compiled JavaScript lives, for code that names a module by URL for another thread.
 *
 * tinypool starts workers from a JavaScript file, and worker tasks name the handler module they
 * run by URL: both need the `.js` file. In the published package every module has one beside
 * it. When jsfunc itself runs from its TypeScript sources (vitest), `src/x/y.js` does not exist;
 * its compiled twin `dist/x/y.js` does (the test command builds first).
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ModelError } from '../errors.js';

const resolved = new Map<string, URL>();

/**
 * Returns `url` if that file exists, else its twin under `dist/` (the last `/src/` path segment
 * replaced by `/dist/`). Results are memoized per URL.
 *
 * @param url - a `file:` URL of a `.js` module, usually `new URL('./x.js', import.meta.url)`
 * @returns a `file:` URL of an existing JavaScript file
 * @throws {ModelError} E_WORKER_CRASHED when neither file exists (run `npm run build`)
 */
export function compiledUrl(url: URL): URL {
  const hit = resolved.get(url.href);
  if (hit !== undefined) return hit;
  const path = fileURLToPath(url);
  let found: URL | undefined;
  if (existsSync(path)) found = url;
  const twin = path.replace(/([\\/])src([\\/])(?!.*[\\/]src[\\/])/, '$1dist$2');
  if (found === undefined && twin !== path && existsSync(twin)) found = pathToFileURL(twin);
  if (found === undefined) {
    throw new ModelError(
      'E_WORKER_CRASHED',
      `Worker module not found: expected ${path} or its compiled twin ${twin}; run "npm run build" first`,
      { details: { path, twin } }
    );
  }
  resolved.set(url.href, found);
  return found;
}
