#!/usr/bin/env bash
# Stage everything a GPU bench run needs, under the 64 MiB the device tool carries:
# ../shared/gpu/prepare (node, Vulkan loader, production node_modules), minus sharp's native image libraries
# (benches decode no images), then compile src/ and bench/ to dist-bench/.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
bash ../shared/gpu/prepare >/dev/null
rm -rf .gpu/prod/node_modules/@img .gpu/prod/node_modules/sharp
npx tsc -p tsconfig.bench.json
du -sh .gpu dist-bench | sed 's/^/staged: /'
