#!/usr/bin/env bash
# Issue 21's measured targets on the synthetic subject (its flaring skirt), on the GPU machine:
#  (a) the fraction of skirt pixels in held-out views that the posed template covers: bare SMPL-X vs fitted template;
#  (b) avatars trained on the fitted template vs on the bare SMPL-X body, the same number of steps: held-out PSNR,
#      overall and inside the skirt's mask;
#  (c) the template fit's steps/s on the GPU and the time 14k steps (the reference's) would take.
# Stages: synth → template (animgs template, stopped at a time budget once fitting runs, then meshed) → coverage →
# prep twice (--template none / the fitted template.ply, into two map folders of one capture) → train the template
# avatar for TRAIN_S seconds, then the bare one for the same number of main steps → eval both on the held-out camera
# (held-out frames = the odd ones; training uses the even frames of the other cameras) → masked PSNR → summary.
# Each finished stage leaves a marker in $WORK, so running the same command again continues where the last stopped;
# a stage is not started when it would run past DEADLINE_S (default 555 s) of this call: the script then says so
# and prints the summary of what is done. Results go to $OUT: summary.txt, results.json, results.tar.xz (all JSON,
# logs and configs) and the images (one eval panel per avatar, a skirt mask).
#
# Usage (after bash bench/template-eval-stage.sh; on the GPU machine, the same command twice: ~9 min each):
#   source .gpu/env.sh; bash bench/template-eval.sh
# A device machine goes back after 30 minutes held, and its /tmp with it: the calls of one comparison must all fall
# in one hold, so start the hold with them. The full-length fit (14k steps in ~5 min on an H200) and the small
# preset's avatars, two calls back to back (the first training on a fresh machine spends ~75 s creating pipelines):
#   PHASE=1 FRAMES=24 WARP_CELL=0.02 TEMPLATE_S=400 PRESET=small MAP_SIZE=256 DEADLINE_S=5000 timeout 575 \
#     bash bench/template-eval.sh
#   PHASE=2 FRAMES=24 WARP_CELL=0.02 TEMPLATE_S=400 TRAIN_S=190 PRESET=small MAP_SIZE=256 DEADLINE_S=565 \
#     timeout 590 bash bench/template-eval.sh  # three avatars (ORACLE=0 TRAIN_S=255: two, ~7.6k steps each)
# TEMPLATE_MORE=1 PHASE=1 continues a fit that needs more than one call.
# Knobs: CAMS (8) SIZE (1024x1024) FRAMES (40) MAP_SIZE (1024) TPL (full | tiny: template network and sampling sizes)
#   TEMPLATE_S (150: seconds of fitting, after setup) TEMPLATE_STEPS (14000: the most steps) WARP_CELL (0.01)
#   TEMPLATE_FRAME (auto: the training frame closest to the canonical pose; first: frame 0; or a frame id)
#   TEMPLATE_LR (5e-4, the reference's; 5e-3 with TPL=tiny)
#   TRAIN_S (150: wall budget of the first training, startup and pretraining included; the second stops at the same
#   main step) TRAIN_HORIZON (800000: --steps, the cosine schedule's length) TRAIN_STEPS (instead: both run this many
#   main steps to the end of their schedule) PRETRAIN (200) PRESET (full) EVAL_FRAMES (held-out odd frames + some training frames)
#   ORACLE (1: also an avatar on the subject's own clothed canonical body, the template a fit approaches; 0: not)
#   TEMPLATE_MORE=1 (continue the last fit for another TEMPLATE_S, then redo what depends on it)
#   PHASE (all | 1: synth..prep | 2: train..summary) WORK (/tmp/animgs-tpl-eval) DEADLINE_S (555) FRESH=1 (start over)
# CPU smoke test: WORK=/tmp/tpe SIZE=128x128 FRAMES=6 TPL=tiny TEMPLATE_LR=0.001 TEMPLATE_S=40 WARP_CELL=0.03 TRAIN_STEPS=5 PRETRAIN=5 PRESET=tiny MAP_SIZE=128 bash bench/template-eval.sh
set -uo pipefail
T0=$(date +%s)
OUT=${OUT:-/tmp/animgs-out}
WORK=${WORK:-/tmp/animgs-tpl-eval}
[ -n "${FRESH:-}" ] && rm -rf "$WORK"
CAP=$WORK/cap
RES=$WORK/results
DONE=$WORK/done
mkdir -p "$OUT" "$RES" "$DONE"
DIST=${DIST:-dist-bench}
cli="node $DIST/src/cli/main.js"
te="node $DIST/bench/template-eval.js"
CAMS=${CAMS:-8}
SIZE=${SIZE:-1024x1024}
FRAMES=${FRAMES:-40}
MAP_SIZE=${MAP_SIZE:-1024}
TPL=${TPL:-full}
TEMPLATE_S=${TEMPLATE_S:-150}
TEMPLATE_STEPS=${TEMPLATE_STEPS:-14000}
TEMPLATE_FRAME=${TEMPLATE_FRAME:-auto}
WARP_CELL=${WARP_CELL:-0.01}
TRAIN_S=${TRAIN_S:-150}
TRAIN_STEPS=${TRAIN_STEPS:-}
TRAIN_HORIZON=${TRAIN_HORIZON:-800000}
PRETRAIN=${PRETRAIN:-200}
PRESET=${PRESET:-full}
PHASE=${PHASE:-all}
ORACLE=${ORACLE:-1}
VARIANTS="tpl bare"
[ "$ORACLE" = 1 ] && VARIANTS="tpl bare oracle"
DEADLINE_S=${DEADLINE_S:-555}
held=$((CAMS - 1))
train_cams=$(seq -s, 0 $((held - 1)))
# held-out views: camera $held at the odd frames (poses never trained on) and at every 6th frame (training poses)
EVAL_FRAMES=${EVAL_FRAMES:-$( (seq 1 2 $((FRAMES - 1)); seq 0 6 $((FRAMES - 1))) | sort -n | paste -sd,)}
export NODE_OPTIONS="${NODE_OPTIONS:-} --max-old-space-size=16384"
# Dawn's package travels xz-packed from bench/template-eval-stage.sh (the carry's 64 MiB); unpacked only where
# node_modules is .gpu/env.sh's link to the staged packages (here it would only swell the next carry)
if [ -L node_modules ] && [ -f .gpu/webgpu.tar.xz ] && [ -d .gpu/prod/node_modules ] && [ ! -d .gpu/prod/node_modules/webgpu ]; then
  tar -C .gpu/prod/node_modules -xJf .gpu/webgpu.tar.xz && echo "webgpu unpacked from .gpu/webgpu.tar.xz"
fi
# sharp (JPEG/PNG) is left out of the GPU staging: bench/template-eval-stage.sh packs it as .gpu/sharp.tar.xz
if ! node -e "require('sharp')" >/dev/null 2>&1; then
  if [ -f .gpu/sharp.tar.xz ] && [ -d node_modules ]; then
    tar -C node_modules/ -xJf .gpu/sharp.tar.xz && echo "sharp unpacked from .gpu/sharp.tar.xz"
  fi
  node -e "require('sharp')" >/dev/null 2>&1 || {
    echo "template-eval: sharp cannot be loaded (stage with bash bench/template-eval-stage.sh)" >&2
    exit 1
  }
fi

now() { date +%s.%N; }
elapsed() { echo $(($(date +%s) - T0)); }
stamp() { while IFS= read -r l; do printf '%s %s\n' "$(date +%s.%N)" "$l"; done; }
note() { echo "[$(elapsed) s] $*"; }
S_NAME='' S_T=0
# settings.json keeps the knobs each stage ran with (a later call's knobs, e.g. the summary's, are not the run's)
record_settings() {
  node -e 'const fs = require("fs"); const [f, st, v] = process.argv.slice(1); let o = {};
    try { o = JSON.parse(fs.readFileSync(f, "utf8")); } catch {}
    if (o.cams !== undefined) o = {};
    o[st] = JSON.parse(v); fs.writeFileSync(f, JSON.stringify(o) + "\n");' "$RES/settings.json" "$1" "$SETTINGS"
}
begin() {
  S_NAME=$1
  S_T=$(now)
  [ "$1" = summary ] || record_settings "$1"
  note "== $1"
}
# end STATUS NOTE: record the stage's time (and a marker when ok)
end() {
  local dt
  dt=$(awk -v a="$S_T" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
  printf '%s\t%s\t%s\t%s\n' "$S_NAME" "$1" "$dt" "${2:-}" >> "$RES/stages.tsv"
  [ "$1" = ok ] && touch "$DONE/$S_NAME"
  note "-- $S_NAME: $1 in $dt s${2:+ ($2)}"
}
isdone() { [ -f "$DONE/$1" ]; }
# fits NAME SECONDS: true when the stage may start (it would end before the deadline)
STOPPED=''
fits() {
  [ -n "$STOPPED" ] && return 1
  if [ $(($(elapsed) + $2)) -gt "$DEADLINE_S" ]; then
    STOPPED=$1
    note "!! not starting $1 (needs ~$2 s, $((DEADLINE_S - $(elapsed))) s left of DEADLINE_S=$DEADLINE_S): run the same command again to continue"
    return 1
  fi
}
want() { # want STAGE PHASE: not done, in this phase
  isdone "$1" && {
    note "   $1: done before"
    return 1
  }
  [ "$PHASE" = all ] || [ "$PHASE" = "$2" ]
}

note "work $WORK, out $OUT; $CAMS cameras $SIZE, $FRAMES frames (training: even frames, cameras $train_cams; held out: camera $held, odd frames); eval frames $EVAL_FRAMES"
SETTINGS=$(printf '{"cams":%s,"size":"%s","frames":%s,"mapSize":%s,"tpl":"%s","templateS":%s,"templateSteps":%s,"templateFrame":"%s","warpCell":%s,"trainS":%s,"trainSteps":"%s","trainHorizon":%s,"pretrain":%s,"preset":"%s","oracle":%s,"heldCam":%s,"evalFrames":"%s"}' \
  "$CAMS" "$SIZE" "$FRAMES" "$MAP_SIZE" "$TPL" "$TEMPLATE_S" "$TEMPLATE_STEPS" "$TEMPLATE_FRAME" "$WARP_CELL" "$TRAIN_S" "$TRAIN_STEPS" "$TRAIN_HORIZON" "$PRETRAIN" "$PRESET" "$ORACLE" "$held" "$EVAL_FRAMES")

# ---------------------------------------------------------------- synth
if want synth 1 && fits synth 90; then
  begin synth
  $cli synth --out "$CAP" --cameras "$CAMS" --size "$SIZE" --frames "$FRAMES" --seed 1 2>&1 | grep -v '^Warning' | tail -2
  if [ -f "$CAP/synth.json" ]; then end ok; else end failed "no capture"; fi
fi

# ---------------------------------------------------------------- template fit
# the reference's network and sampling sizes by default; TPL=tiny: small enough for the CPU adapter
tpl_train='' tpl_model=''
if [ "$TPL" = tiny ]; then
  tpl_train=$'  rays: 256\n  samples: 32\n  eikonal_points: 256\n  volume_res: 64\n  mc_resolution: [64, 64, 32]'
  tpl_model=', sdf_hidden: [64, 64, 64], skip_layer: 2, features: 16, color_hidden: [32]'
fi
cat > "$WORK/template.yaml" <<YAML
mode: train
train:
  dataset: MvRgbDatasetTHuman4
  data: {subject_name: synth, data_dir: $CAP, frame_range: [0, $FRAMES, 2], used_cam_ids: [$train_cams]}
  frame: $TEMPLATE_FRAME
  net_ckpt_dir: $WORK/template_fit
  ckpt_interval: {batch: 1000}
  loss_weight: {color: 1.0, mask: 1.0, eikonal: 0.1}
  iterations: $TEMPLATE_STEPS
  warp_cell: $WARP_CELL
  lr: {network: {type: Step, initial: ${TEMPLATE_LR:-$([ "$TPL" = tiny ] && echo 0.005 || echo 0.0005)}, interval: 40000, factor: 0.9, min: 0.00008}}
$tpl_train
model: {multires: 6, with_hand: false, use_viewdir: false$tpl_model}
YAML
# shellcheck disable=SC2094
# TEMPLATE_MORE=1: fit on from the last checkpoint for another TEMPLATE_S (a fit longer than one call), then mesh it
# and redo everything that depends on the template
fit_mode=--force
if [ "${TEMPLATE_MORE:-}" = 1 ] && [ -f "$WORK/template_fit/latest.json" ]; then
  fit_mode=--resume
  redo="template coverage prep-tpl train-tpl train-bare train-oracle eval-tpl eval-bare eval-oracle"
  for st in $redo; do
    rm -f "$DONE/$st"
  done
  # and their results, so that the summary shows none from the earlier template
  rm -f "$RES/train-steps" "$RES"/train-*.steps "$RES"/train-*.jsonl "$RES"/metrics-*.json "$RES"/psnr-*.json
  [ -f "$RES/settings.json" ] && node -e 'const fs = require("fs"); const [f, ...st] = process.argv.slice(1);
    const o = JSON.parse(fs.readFileSync(f, "utf8")); for (const k of st) delete o[k];
    fs.writeFileSync(f, JSON.stringify(o) + "\n");' "$RES/settings.json" $redo
  [ -f "$RES/stages.tsv" ] && grep -v -E "^($(echo "$redo" | tr ' ' '|'))	" "$RES/stages.tsv" > "$RES/stages.tmp" &&
    mv "$RES/stages.tmp" "$RES/stages.tsv"
  note "   template: continuing the fit from its last checkpoint (TEMPLATE_MORE=1)"
fi
if want template 1 && isdone synth && fits template $((TEMPLATE_S + 330)); then
  begin template
  log=$RES/template.log
  [ "$fit_mode" = --resume ] && [ -f "$log" ] && mv "$log" "$RES/template-before-$(date +%s).log"
  rm -f "$CAP/template.ply"
  t_start=$(now)
  # in this process (no stderr-filtering parent, which ignores SIGINT), so that the budget's SIGINT reaches the fit
  ANIMGS_NO_FILTER=1 $cli template -c "$WORK/template.yaml" "$fit_mode" > >(stamp > "$log") 2>&1 &
  pid=$!
  fit_t='' sent=''
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if [ -z "$fit_t" ] && grep -q 'template: frame .* cameras' "$log" 2>/dev/null; then
      fit_t=$(date +%s)
      note "   template: setup done ($(grep -E 'weight volume|root finding|converged' "$log" | sed 's/^[0-9.]* //' | tr '\n' ';')); fitting for at most $TEMPLATE_S s"
    fi
    if [ -z "$sent" ] && [ -n "$fit_t" ] && [ $(($(date +%s) - fit_t)) -ge "$TEMPLATE_S" ]; then
      kill -INT "$pid" 2>/dev/null
      sent=1
    fi
    # a setup that never ends: stop at the deadline (leaving time for the mesh)
    if [ $(($(elapsed) + 90)) -gt "$DEADLINE_S" ]; then
      note "   template: out of time, stopping it"
      kill -INT "$pid" 2>/dev/null
      sleep 20
      kill "$pid" 2>/dev/null
      break
    fi
  done
  wait "$pid"
  rc=$?
  sleep 1
  grep -v -E '^[0-9.]+ (Warning|template: fit [0-9]+/)' "$log" | sed 's/^[0-9.]* /   /' | tail -8
  mesh_s=0
  if [ ! -f "$CAP/template.ply" ] && grep -q 'template: stopped at step' "$log" && [ $(($(elapsed) + 45)) -lt "$DEADLINE_S" ]; then
    m0=$(now)
    $te mesh -c "$WORK/template.yaml" 2>&1 | grep -v '^Warning' | tee "$RES/template-mesh.log" | tail -2
    mesh_s=$(awk -v a="$m0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
  fi
  $te rate "$log" --t0 "$t_start" --mesh-seconds "$mesh_s" --out "$RES/template.json"
  if [ -f "$CAP/template.ply" ]; then end ok "rc $rc"; else end failed "rc $rc, no template.ply: see $log"; fi
fi

# ---------------------------------------------------------------- coverage of the skirt in the held-out views
# (after the template stage; without a fitted template it measures the bare body only and is redone next time)
if want coverage 1 && isdone synth && [ -n "$(cut -f1 "$RES/stages.tsv" 2>/dev/null | grep -x template)" ] && fits coverage 120; then
  begin coverage
  $te coverage --data "$CAP" --frames "$EVAL_FRAMES" --cams "$held" --out "$RES/coverage.json" --masks "$WORK/skirt_masks" 2>&1 |
    grep -v '^Warning' | tee "$RES/coverage.log" | tail -3
  if [ "${PIPESTATUS[0]}" != 0 ]; then end failed "see coverage.log"; elif isdone template; then end ok; else end partial "no fitted template"; fi
fi

# ---------------------------------------------------------------- prep, twice
for v in $VARIANTS; do
  if want "prep-$v" 1 && isdone synth && { [ $v != tpl ] || isdone template; } && fits "prep-$v" 90; then
    begin "prep-$v"
    tflag=(--template none)
    [ $v = tpl ] && tflag=()
    if [ $v = oracle ]; then
      node "$DIST/bench/synth-template.js" "$CAP" "$WORK/oracle.ply" 2>&1 | grep -v '^Warning' | tail -1
      tflag=(--template "$WORK/oracle.ply")
    fi
    # --force: the stage runs only when not done, and its maps folder is this script's (a refitted template's maps
    # replace the earlier ones)
    $cli prep --data "$CAP" "${tflag[@]}" --out "$CAP/maps-$v" --size "$MAP_SIZE" --pca 0 --force 2>&1 | grep -v '^Warning' |
      tee "$RES/prep-$v.log" | tail -1
    if grep -q 'prep: done' "$RES/prep-$v.log"; then end ok; else end failed "see prep-$v.log"; fi
  fi
done

# ---------------------------------------------------------------- train: the template avatar for TRAIN_S, the bare one as many steps
avatar_yaml() { # avatar_yaml VARIANT
  cat > "$WORK/avatar-$1.yaml" <<YAML
mode: train
train:
  dataset: MvRgbDatasetTHuman4
  data: {data_dir: $CAP, frame_range: [0, $FRAMES, 2], used_cam_ids: [$train_cams], smpl_pos_map_dir: $CAP/maps-$1}
  net_ckpt_dir: $WORK/avatar-$1
  eval_training_ids: [0, $held]
  eval_testing_ids: [1, $held]
  eval_interval: 1000000
  ckpt_interval: {epoch: 1000, batch: 1000000}
  pretrain_iterations: $PRETRAIN
  num_workers: 6
model: {with_viewdirs: true, random_style: false}
YAML
}
main_steps() { # the main step a training log ended at (empty when it did not reach the main loop)
  sed -n 's/.*train: \(done\|stopped\) at train step \([0-9]*\).*/\2/p' "$1" | tail -1
}
# Both with the same schedule (cosine over --steps: TRAIN_STEPS, else TRAIN_HORIZON, the reference's 800k) and the
# same number of main steps: the template avatar's, reached in TRAIN_S (or TRAIN_STEPS run to the end).
for v in $VARIANTS; do
  if want "train-$v" 2 && isdone "prep-$v"; then
    avatar_yaml $v
    if [ -n "$TRAIN_STEPS" ]; then
      horizon=$TRAIN_STEPS max=0 budget=$((TRAIN_S * 3))
    elif [ $v = tpl ]; then
      horizon=$TRAIN_HORIZON max=0 budget=$TRAIN_S
    else
      horizon=$TRAIN_HORIZON max=$(cat "$RES/train-steps" 2>/dev/null) budget=$((TRAIN_S * 2))
      if [ -z "$max" ]; then
        note "   train-$v: the template avatar's step count is unknown (train-tpl did not finish): training TRAIN_S"
        max=0 budget=$TRAIN_S
      fi
    fi
    # the bare avatar (fewer Gaussians) reaches the template one's steps in about TRAIN_S: start it when TRAIN_S fits,
    # and stop it (with its checkpoint) before the deadline rather than be killed with the call
    fits "train-$v" $((TRAIN_S + 60)) || continue
    left=$((DEADLINE_S - $(elapsed) - 30))
    [ "$budget" -gt "$left" ] && budget=$left
    begin "train-$v"
    # a new training makes this avatar's earlier evaluation stale
    rm -f "$DONE/eval-$v" "$RES/metrics-$v.json" "$RES/psnr-$v.json" "$RES/train-$v.steps"
    $te train-until --budget-s "$budget" --max-steps "$max" -- "$DIST/src/cli/main.js" train -c "$WORK/avatar-$v.yaml" \
      --force --preset "$PRESET" --steps "$horizon" 2>&1 | grep -v '^Warning' | tee "$RES/train-$v.log" |
      grep -E 'steps/s|train: (done|stopped)|train-until|rror' | tail -5
    # its JSONL log (losses, steps/s, elapsed) travels with the results
    cp "$WORK/avatar-$v/train_log.jsonl" "$RES/train-$v.jsonl" 2>/dev/null
    n=$(main_steps "$RES/train-$v.log")
    if [ -n "$n" ] && [ "$n" -gt 0 ]; then
      [ $v = tpl ] && [ -z "$TRAIN_STEPS" ] && echo "$n" > "$RES/train-steps"
      echo "$n" > "$RES/train-$v.steps"
      end ok "$n main steps"
    else
      end failed "never reached the main loop (TRAIN_S too short?) or failed: see train-$v.log"
    fi
  fi
done

# ---------------------------------------------------------------- eval + masked PSNR
for v in $VARIANTS; do
  if want "eval-$v" 2 && isdone "train-$v" && fits "eval-$v" 120; then
    begin "eval-$v"
    $cli eval -c "$WORK/avatar-$v.yaml" --frames "$EVAL_FRAMES" --cams "$held" --out "$WORK/eval-$v" --force --save-images 2>&1 |
      grep -v '^Warning' | tee "$RES/eval-$v.log" | tail -1
    if [ -f "$WORK/eval-$v/metrics.json" ]; then
      cp "$WORK/eval-$v/metrics.json" "$RES/metrics-$v.json"
      if [ -d "$WORK/skirt_masks" ]; then
        $te psnr --views "$WORK/eval-$v/views" --masks "$WORK/skirt_masks" --data "$CAP" --out "$RES/psnr-$v.json" 2>&1 | tail -1
      fi
      if [ -f "$RES/psnr-$v.json" ]; then end ok; else end ok "no masked PSNR: no skirt masks (coverage stage)"; fi
    else
      end failed "no metrics.json: see eval-$v.log"
    fi
  fi
done

# ---------------------------------------------------------------- summary
note "== summary"
$te summary "$RES" | tee "$RES/summary.txt"
# The device tool brings back at most 8 files: the summary and results.json as they are, everything else of $RES and
# the configs in one archive, then the images (one eval panel per avatar, a skirt mask: at most 4).
cp "$RES/summary.txt" "$RES/results.json" "$OUT/" 2>/dev/null
cp "$WORK/template.yaml" "$WORK"/avatar-*.yaml "$RES/" 2>/dev/null
tar -C "$RES" -cJf "$OUT/results.tar.xz" . 2>/dev/null
# a few panels: one held-out pose per avatar, and its skirt mask
for v in $VARIANTS; do
  f=$(ls "$WORK/eval-$v/views/" 2>/dev/null | head -1)
  [ -n "$f" ] && cp "$WORK/eval-$v/views/$f" "$OUT/eval-$v-$f"
done
[ -d "$WORK/skirt_masks" ] && cp "$(find "$WORK/skirt_masks" -name '*.png' | sort | head -1)" "$OUT/skirt-mask-example.png" 2>/dev/null
[ -n "$STOPPED" ] && note "stopped before $STOPPED: run the same command again to continue"
note "end ($(elapsed) s)"
