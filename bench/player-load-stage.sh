#!/usr/bin/env bash
# Stage what bench/player-load.ts needs on the GPU machine, on top of bench/stage-clean.sh (HEAD built into
# dist-bench; STAGE=gpu builds the working tree through bench/stage-gpu.sh instead):
#  - sharp and its libvips as .gpu/sharp.tar.xz (~7 MB; export-web reads the capture through the dataset reader,
#    which imports sharp; stage-gpu.sh leaves sharp out to keep the carry under 64 MiB);
#  - the player bundle prebuilt beside dist-bench's export-web (dist-bench/src/animate/web/player.bundle.js, as
#    `npm run build` does for dist): esbuild is a development dependency, not staged.
# Then, carrying .gpu and dist-bench, on the GPU machine:
#   source .gpu/env.sh; tar -C .gpu/prod/node_modules -xJf .gpu/webgpu.tar.xz; tar -C .gpu/prod/node_modules -xJf .gpu/sharp.tar.xz;
#   node dist-bench/bench/run.js --only player-load
# (Dawn's package travels xz-packed: .gpu, dist-bench and the tracked files must stay under 64 MiB.)
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
STAGE_PACK_WEBGPU=1 bash "bench/stage-${STAGE:-clean}.sh"
tar -C node_modules -cf - sharp @img | xz -T4 -6 > .gpu/sharp.tar.xz
node -e "import('./dist-bench/src/animate/web/bundle.js').then(async (m) => console.log('player bundle:', await m.writePrebuiltBundle()))"
du -sh .gpu dist-bench | sed 's/^/staged: /'
