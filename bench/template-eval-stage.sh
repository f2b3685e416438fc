#!/usr/bin/env bash
# Stage bench/template-eval.sh for the GPU machine: bench/stage-clean.sh (HEAD built into dist-bench, .gpu), plus
# sharp and its libvips as .gpu/sharp.tar.xz (~7 MB; stage-gpu.sh leaves sharp out, and synth, training and eval
# read and write JPEG/PNG); template-eval.sh unpacks it there. Carry .gpu and dist-bench. Usage:
#   bash bench/template-eval-stage.sh
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
STAGE_PACK_WEBGPU=1 bash bench/stage-clean.sh
tar -C node_modules -cf - sharp @img | xz -T2 -6 > .gpu/sharp.tar.xz
du -sh .gpu .gpu/sharp.tar.xz dist-bench | sed 's/^/staged: /'
