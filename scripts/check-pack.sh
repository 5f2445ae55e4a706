#!/usr/bin/env bash
# Packs jsfunc, installs the tarball into a fresh project (dependencies from the npm registry,
# without this repository's overrides, as a user gets them) and checks it there:
# - the tarball ships what `--help` and error messages point at (docs/errors.md);
# - scripts/pack-smoke/run.mjs: the public API through the package's `exports`, workers included;
# - the `jsfunc` bin;
# - a TypeScript consumer compiles against jsfunc's declarations with `skipLibCheck: false` while
#   the optional peers (danfojs-node, onnxruntime-node) are NOT installed: public types must not
#   need them.
# The npm warnings a user's install prints are shown. Not part of `npm test`: it needs the
# registry. Usage: npm run check:pack
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$root"
npm run build --silent
tarball="$(npm pack --silent --pack-destination "$work" | tail -n 1)"
tar -tzf "$work/$tarball" > "$work/contents.txt"
for shipped in package/docs/errors.md package/dist/index.d.ts package/dist/cli/main.js; do
  grep -qx "$shipped" "$work/contents.txt" || { echo "pack: $shipped is not in $tarball"; exit 1; }
done
echo "pack: $tarball ships dist and docs/errors.md"
cd "$work"
npm init -y > /dev/null
npm install --no-audit --no-fund "$work/$tarball" > install.log 2>&1 || { cat install.log; exit 1; }
if grep -q '^npm warn' install.log; then
  echo "pack: a user's install warns (see the README's design section):"
  grep '^npm warn' install.log | sed 's/^/  /'
fi
cp "$root/scripts/pack-smoke/"*.mjs .
node run.mjs
npx jsfunc info -m pkg > /dev/null
test -f node_modules/jsfunc/docs/errors.md
echo "pack smoke: the jsfunc bin works"

# A TypeScript consumer: the TypeScript and @types/node versions this repository builds with.
for peer in danfojs-node onnxruntime-node; do
  if [ -e "node_modules/$peer" ]; then echo "pack: $peer got installed; the type check needs it absent"; exit 1; fi
done
ts="$(node -p "require('$root/node_modules/typescript/package.json').version")"
types="$(node -p "require('$root/node_modules/@types/node/package.json').version")"
npm install --no-audit --no-fund --save-dev "typescript@$ts" "@types/node@$types" > install-ts.log 2>&1 ||
  { cat install-ts.log; exit 1; }
cat > tsconfig.json <<'JSON'
{
  "compilerOptions": {
    "target": "ES2022",
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "types": ["node"],
    "strict": true,
    "skipLibCheck": false,
    "noEmit": true
  },
  "files": ["consumer.ts"]
}
JSON
cat > consumer.ts <<'TS'
// Uses the public API's types the way a model author does; compiled, never run.
import type { Table } from 'apache-arrow';
import {
  ModelError,
  inferSignature,
  isDanfoFrame,
  loadModel,
  saveModel,
  sparkUdf,
  tableToDanfo,
  type JsModel,
  type ModelContext,
} from 'jsfunc';

export default class Model implements JsModel {
  predict(_ctx: ModelContext, input: Table): Float64Array {
    const x = input.getChild('x');
    const out = new Float64Array(input.numRows);
    for (let i = 0; i < input.numRows; i++) out[i] = Number(x?.get(i) ?? 0) * 2;
    return out;
  }
}

export async function main(table: Table): Promise<number> {
  const signature = await inferSignature([{ x: 1 }], [2], undefined, { integers: 'double' });
  await saveModel('out/model', { model: 'model.ts', signature });
  const model = await loadModel('out/model');
  await model.predict([{ x: 1 }]);
  const udf = await sparkUdf('out/model', { workers: 2 });
  try {
    await udf.apply(table);
    const frame = tableToDanfo(table);
    return isDanfoFrame(frame) ? frame.shape[0]! : 0;
  } catch (e) {
    if (e instanceof ModelError) return -1;
    throw e;
  } finally {
    await udf.close();
  }
}
TS
npx tsc -p tsconfig.json
echo "pack: a TypeScript consumer compiles against the declarations (skipLibCheck: false, no optional peers)"
