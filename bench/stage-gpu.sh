#!/usr/bin/env bash
# Stage everything a GPU bench run needs, under the 64 MiB the device tool carries:
# ../shared/gpu/prepare (node, Vulkan loader, production node_modules), minus sharp's native image libraries
# (benches decode no images) and the job queue's packages, plus the two TensorFlow.js bundles bench/tfjs.ts compares against, then compile src/
# and bench/ to dist-bench/ (STAGE_NO_BUILD=1 skips the compile: bench/stage-clean.sh builds the last commit instead).
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
bash ../shared/gpu/prepare >/dev/null
rm -rf .gpu/prod/node_modules/@img .gpu/prod/node_modules/sharp
# the job queue's packages (no bench imports src/queue): ~15 MiB of the 64 MiB the device tool carries
(cd .gpu/prod/node_modules && rm -rf bullmq ioredis msgpackr luxon cron-parser @ioredis)
# TensorFlow.js for bench/tfjs.ts (dev dependencies, so not in the production install): per package only its
# package.json, licence and the one CommonJS bundle its "main" names (~2 MiB; they need nothing else at load time).
for p in tfjs-core tfjs-backend-webgpu; do
  src=node_modules/@tensorflow/$p dst=.gpu/prod/node_modules/@tensorflow/$p
  [ -f "$src/package.json" ] || { echo "stage-gpu: $src missing (npm install the dev dependencies); tfjs bench disabled" >&2; continue; }
  main=$(node -p "require('./$src/package.json').main")
  rm -rf "$dst" && mkdir -p "$dst/$(dirname "$main")"
  cp "$src/package.json" "$dst/" && cp "$src/$main" "$dst/$main"
  [ -f "$src/LICENSE" ] && cp "$src/LICENSE" "$dst/" || true
done
[ "${STAGE_NO_BUILD:-}" = 1 ] && { du -sh .gpu | sed 's/^/staged: /'; exit 0; }
npx tsc -p tsconfig.bench.json
du -sh .gpu dist-bench | sed 's/^/staged: /'
