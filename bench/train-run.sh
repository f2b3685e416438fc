#!/usr/bin/env bash
# On the GPU machine: the full preset trained on a synthetic capture of the reference's image size, for a fixed
# wall-clock budget; the training log, held-out previews (PSNR vs the mean-colour baseline) and GPU memory samples
# go to $OUT (a second run on the same machine reuses the capture; RUN names its results folder). Usage (after bash bench/stage-clean.sh; with .gpu and dist-bench carried):
#   source .gpu/env.sh; CAMS=8 SIZE=1500x2048 FRAMES=40 TRAIN_S=420 bash bench/train-run.sh
set -uo pipefail
OUT=${OUT:-/tmp/animgs-out}
mkdir -p "$OUT"
cli="node dist-bench/src/cli/main.js"
cap=${CAP:-/tmp/animgs-cap}
held=$(( ${CAMS:-8} - 1 ))
last=$(( ${FRAMES:-40} - 1 ))
train_end=$(( ${FRAMES:-40} * 3 / 4 ))
nvidia-smi --query-gpu=timestamp,memory.used,utilization.gpu --format=csv -lms 1000 > "$OUT/gpu-samples.csv" 2>/dev/null &
smi=$!
t0=$(date +%s)
[ -d "$cap/smpl_pos_map" ] || $cli synth --out "$cap" --cameras "${CAMS:-8}" --size "${SIZE:-1500x2048}" --frames "${FRAMES:-40}" --seed 1 2>&1 | grep -v '^Warning' | tail -3
t1=$(date +%s)
# TEMPLATE=1: prepare from the subject's own clothed body in the canonical pose (bench/synth-template.ts)
if [ -n "${TEMPLATE:-}" ] && [ ! -f "$cap/template.ply" ]; then node dist-bench/bench/synth-template.js "$cap"; rm -rf "$cap/smpl_pos_map"; fi
[ -d "$cap/smpl_pos_map" ] || $cli prep --data "$cap" --size 1024 --pca 0 2>&1 | grep -v '^Warning' | tail -2
t2=$(date +%s)
echo "synth $((t1 - t0)) s, prep $((t2 - t1)) s"
cat > "$cap/avatar-${RUN:-a}.yaml" <<YAML
mode: train
train:
  dataset: MvRgbDatasetTHuman4
  data: {data_dir: $cap, frame_range: [0, $train_end], used_cam_ids: [$(seq -s, 0 $((held - 1)))]}
  net_ckpt_dir: $cap/results-${RUN:-a}
  eval_training_ids: [$((train_end / 2)), $held]
  eval_testing_ids: [$last, $held]
  eval_interval: ${EVAL_EVERY:-250}
  ckpt_interval: {epoch: 10, batch: 1000000}
  pretrain_iterations: ${PRETRAIN:-200}
  num_workers: 6
model: {with_viewdirs: true, random_style: false}
YAML
timeout -s INT -k 60 "${TRAIN_S:-420}" $cli train -c "$cap/avatar-${RUN:-a}.yaml" --force --preset full --steps "${STEPS:-800000}" 2>&1 | grep -v '^Warning' | tail -40
kill $smi 2>/dev/null
cp "$cap/results-${RUN:-a}/train_log.jsonl" "$OUT/train_log-${RUN:-a}.jsonl" 2>/dev/null
mkdir -p "$OUT/previews-${RUN:-a}" && cp "$cap"/results-${RUN:-a}/previews/*0_*.png "$OUT/previews-${RUN:-a}/" 2>/dev/null
sort -t, -k2 -n "$OUT/gpu-samples.csv" | tail -1
grep preview "$OUT/train_log-${RUN:-a}.jsonl" | tail -12
