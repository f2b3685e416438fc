#!/usr/bin/env bash
# Like stage-gpu.sh, but builds dist-bench from the last commit (HEAD) instead of the working tree, so a bench run
# measures committed code while others have work in progress. Usage: bash bench/stage-clean.sh
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
root=$PWD
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git archive HEAD | tar -x -C "$tmp"
ln -s "$root/node_modules" "$tmp/node_modules"
STAGE_NO_BUILD=1 bash bench/stage-gpu.sh >/dev/null # the .gpu part only
rm -rf "$root/dist-bench"
(cd "$tmp" && npx tsc -p tsconfig.bench.json --outDir "$root/dist-bench")
du -sh .gpu dist-bench | sed 's/^/staged: /'
