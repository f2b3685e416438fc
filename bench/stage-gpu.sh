#!/usr/bin/env bash
# Stage everything a GPU bench run needs, under the 64 MiB the device tool carries:
# ../shared/gpu/prepare (node, Vulkan loader, production node_modules), minus sharp's native image libraries
# (benches decode no images) and the job queue's packages, plus the two TensorFlow.js bundles bench/tfjs.ts compares against, then compile src/
# and bench/ to dist-bench/ (STAGE_NO_BUILD=1 skips the compile: bench/stage-clean.sh builds the last commit instead).
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
bash ../shared/gpu/prepare >/dev/null
# STAGE_QUEUE=1 (bench/queue-gpu.ts, the job queue on the GPU machine): what it needs besides, xz-packed into
# .gpu/queue.tar.xz (~10 MiB; the tfjs bundles are left out to make room): the queue's packages pruned to the
# files Node loads (bullmq's CommonJS build, luxon's Node build, msgpackr's node.cjs), sharp with libvips (animate
# writes PNGs), and Debian's redis-server with the shared libraries it needs beyond glibc and libstdc++ (run through
# redis/redis-server, which points LD_LIBRARY_PATH at them). On the GPU machine, after `source .gpu/env.sh`:
#   tar -xJf .gpu/queue.tar.xz -C .gpu/prod && QG_REDIS=$PWD/.gpu/prod/redis/redis-server node dist-bench/bench/queue-gpu.js
rm -f .gpu/queue.tar.xz
if [ "${STAGE_QUEUE:-}" = 1 ]; then
  q=$(mktemp -d)
  mkdir -p "$q/node_modules/@img" "$q/redis/lib"
  (cd .gpu/prod/node_modules && cp -r bullmq ioredis msgpackr luxon cron-parser @ioredis sharp "$q/node_modules/" &&
    cp -r @img/. "$q/node_modules/@img/")
  (cd "$q/node_modules" && rm -rf bullmq/dist/esm luxon/src luxon/build/amd luxon/build/cjs-browser luxon/build/es6 \
    luxon/build/global && find msgpackr/dist -type f ! -name node.cjs -delete &&
    find . \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.cts' -o -name '*.d.mts' -o -name '*.md' -o -name '*.tsbuildinfo' \) -delete)
  bin=$(command -v redis-server) || { echo "stage-gpu: redis-server missing (apt-get install -y redis-server)" >&2; exit 1; }
  cp -L "$bin" "$q/redis/redis-server.bin"
  ldd "$bin" | awk '/=> \//{print $3}' | grep -Ev '/(libc|libm|libstdc\+\+|libgcc_s|libpthread|libdl|librt|ld-linux[^/]*)\.so' |
    while read -r lib; do cp -L "$lib" "$q/redis/lib/"; done
  printf '#!/bin/sh\nd=$(dirname "$0")\nLD_LIBRARY_PATH="$d/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "$d/redis-server.bin" "$@"\n' \
    > "$q/redis/redis-server"
  chmod +x "$q/redis/redis-server"
  tar -C "$q" -cf - node_modules redis | xz -T0 -9 > .gpu/queue.tar.xz
  rm -rf "$q"
fi
rm -rf .gpu/prod/node_modules/@img .gpu/prod/node_modules/sharp
# the job queue's packages (no bench but queue-gpu imports src/queue; it brings them in queue.tar.xz): ~15 MiB of
# the 64 MiB the device tool carries
(cd .gpu/prod/node_modules && rm -rf bullmq ioredis msgpackr luxon cron-parser @ioredis)
# TensorFlow.js for bench/tfjs.ts (dev dependencies, so not in the production install): per package only its
# package.json, licence and the one CommonJS bundle its "main" names (~2 MiB; they need nothing else at load time).
[ "${STAGE_QUEUE:-}" = 1 ] && rm -rf .gpu/prod/node_modules/@tensorflow
[ "${STAGE_QUEUE:-}" = 1 ] || for p in tfjs-core tfjs-backend-webgpu; do
  src=node_modules/@tensorflow/$p dst=.gpu/prod/node_modules/@tensorflow/$p
  [ -f "$src/package.json" ] || { echo "stage-gpu: $src missing (npm install the dev dependencies); tfjs bench disabled" >&2; continue; }
  main=$(node -p "require('./$src/package.json').main")
  rm -rf "$dst" && mkdir -p "$dst/$(dirname "$main")"
  cp "$src/package.json" "$dst/" && cp "$src/$main" "$dst/$main"
  [ -f "$src/LICENSE" ] && cp "$src/LICENSE" "$dst/" || true
done
# STAGE_PACK_WEBGPU=1: Dawn's package (~21 MiB, mostly dawn.node) xz-packed as .gpu/webgpu.tar.xz (~7 MiB), for
# stagings that carry more (sharp, the queue) and would pass the 64 MiB the device tool carries with the tracked
# files; there, before anything else: tar -C .gpu/prod/node_modules -xJf .gpu/webgpu.tar.xz
rm -f .gpu/webgpu.tar.xz
if [ "${STAGE_PACK_WEBGPU:-}" = 1 ]; then
  tar -C .gpu/prod/node_modules -cf - webgpu | xz -T0 -6 > .gpu/webgpu.tar.xz
  rm -rf .gpu/prod/node_modules/webgpu
fi
[ "${STAGE_NO_BUILD:-}" = 1 ] && { du -sh .gpu | sed 's/^/staged: /'; exit 0; }
npx tsc -p tsconfig.bench.json
du -sh .gpu dist-bench | sed 's/^/staged: /'
