#!/usr/bin/env bash
# Packs jsfunc, installs the tarball into a fresh project (dependencies from the npm registry,
# without this repository's overrides, as a user gets them) and runs scripts/pack-smoke/run.mjs
# there. Not part of `npm test`: it needs the registry. Usage: npm run check:pack
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$root"
npm run build --silent
tarball="$(npm pack --silent --pack-destination "$work" | tail -n 1)"
cd "$work"
npm init -y > /dev/null
npm install --no-audit --no-fund "$work/$tarball" > install.log 2>&1 || { cat install.log; exit 1; }
cp "$root/scripts/pack-smoke/"*.mjs .
node run.mjs
npx jsfunc info -m pkg > /dev/null
echo "pack smoke: the jsfunc bin works"
