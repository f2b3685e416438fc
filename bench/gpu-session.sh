#!/usr/bin/env bash
# The standard issue-4/5 measurements in one device call each, ordered so that the slow first compile of the
# network's ~150 pipelines happens once (a fresh GPU machine compiles them cold: ~80–100 s; later processes on the
# same machine hit the driver's cache), every bench under its own time limit (a bench killed by its limit loses only
# its own rows: its JSON is written per bench), with the GPU at working clocks (the benches warm up themselves).
#
#   here:        bash bench/stage-clean.sh                      (builds HEAD into dist-bench; carry .gpu and dist-bench)
#   on the GPU:  source .gpu/env.sh; bash bench/gpu-session.sh network   (≈ 7 min: unet-check, unet, unet-fusion, profile)
#                source .gpu/env.sh; bash bench/gpu-session.sh kernels   (≈ 6 min: splat, conv-paths tc2 + TF.js)
#                source .gpu/env.sh; bash bench/gpu-session.sh tiles     (≈ 5 min: tile / split-K sweeps)
#                source .gpu/env.sh; bash bench/gpu-session.sh final     (≈ 7 min: check, unet, profile, vs TF.js)
# Output: one JSON and one log per bench under $OUT (or ./out), and the table rows on stdout.
# Sessions whose variants used options that have left the library since (small-M / narrow / default tile-table
# overrides, split depth, vec2 weight staging, walking all sub-pixel taps: 'ab', 'big', 'skip-taps', part of
# 'tiles' and 'probe') were removed; their results are in bench/RESULTS.md.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-out}
mkdir -p "$out"
run() { # name, seconds, env and args…
  local name=$1 limit=$2
  shift 2
  local t0=$SECONDS
  env "$@" --json "$out/$name.json" >"$out/$name.log" 2>&1
  local rc=$?
  grep '^| ' "$out/$name.log" | grep -v '^| bench |' | grep -v '^| --- |'
  echo "== $name: rc $rc in $((SECONDS - t0)) s (limit $limit s)"
}
bench() { # name, seconds, [VAR=value …] -- run.js args
  local name=$1 limit=$2
  shift 2
  local envs=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  run "$name" "$limit" "${envs[@]}" timeout "$limit" node dist-bench/bench/run.js "$@"
}
case "${1:-}" in
  network)
    bench check 220 -- --only unet-check
    bench unet 120 -- --only unet
    bench fusion 120 -- --only unet-fusion
    bench profile 120 PROFILE_ONLY=unet PROFILE_TOP=40 -- --only profile
    ;;
  kernels)
    bench splat 90 -- --only splat
    bench conv-vs-tfjs 300 CONV_PATHS=tc2-auto -- --only conv-paths,tfjs
    ;;
  tiles) # tile / split-K sweeps (2026-11-28c): the ≤ 32² layers, then the large ones; TF.js with robustness on
    large='[{"name":"L256x128","opts":{"path":"tc2","tc2Tile":{"bm":256,"bn":128,"bk":32,"sgm":4,"sgn":2,"bGlobal":true}}},
      {"name":"L128x256","opts":{"path":"tc2","tc2Tile":{"bm":128,"bn":256,"bk":32,"sgm":2,"sgn":4,"bGlobal":true}}},
      {"name":"Lk64","opts":{"path":"tc2","tc2Tile":{"bm":128,"bn":128,"bk":64,"sgm":2,"sgn":4,"bGlobal":true}}},
      {"name":"L4sg","opts":{"path":"tc2","tc2Tile":{"bm":128,"bn":128,"bk":32,"sgm":2,"sgn":2}}}]'
    bench large 150 CONV_PATHS=tc2-auto CONV_PASSES=forward,input-grad CONV_PATHS_JSON="$large" \
      'CONV_PATHS_FILTER=128→128 @256²|256→256 @128²|512→512 @64²|1024→512 @64²|512→256 @128²|256→128 @256²|3→128' \
      -- --only conv-paths
    bench tfjs-robust 150 ANIMGS_ROBUST=1 CONV_PASSES=forward -- --only tfjs
    ;;
  convert) # what the per-call f16 weight conversion costs: the default against constant weights (converted once)
    v='[{"name":"const-w","opts":{"path":"tc2"},"constantWeights":true}]'
    bench convert 240 CONV_PATHS=tc2-auto CONV_PASSES=forward,input-grad CONV_PATHS_JSON="$v" -- --only conv-paths
    ;;
  ablate) # where a tc2 forward GEMM's time goes: WGSL edited to drop one part at a time (weights held constant)
    v='[{"name":"const-w","opts":{"path":"tc2"},"constantWeights":true},
      {"name":"core","opts":{"path":"tc2"},"constantWeights":true,"patch":[["SA\\[o\\] = [^;]*; SA\\[o \\+ 1u\\] = [^;]*;",""],["SB\\[o\\] = v\\.x; SB\\[o \\+ 1u\\] = v\\.y; SB\\[o \\+ 2u\\] = v\\.z; SB\\[o \\+ 3u\\] = v\\.w;",""]]},
      {"name":"no-mma","opts":{"path":"tc2"},"constantWeights":true,"patch":[["c\\d+_\\d+ = subgroupMatrixMultiplyAccumulate\\(a\\d+, b\\d+, c\\d+_\\d+\\);",""]]},
      {"name":"no-gather","opts":{"path":"tc2"},"constantWeights":true,"patch":[["v = SRC\\[u32\\([^;]*\\)\\];","v = 0.5;"]]},
      {"name":"no-store","opts":{"path":"tc2"},"constantWeights":true,"patch":[["if \\(m < GEMM_M && n < GEMM_N\\) \\{","if (m < GEMM_M && n < GEMM_N && SCR[sg * 256u] == 1234.5) {"]]}]'
    bench ablate 200 CONV_PATHS=tc2-auto CONV_PASSES=forward CONV_PATHS_JSON="$v" \
      'CONV_PATHS_FILTER=128→128 @256²|512→512 @64²|1024→512 @64²|64→64 @512²|s1 512→512 @32²' -- --only conv-paths
    ;;
  final) # one call at the end of a session: correctness at full size, the network, its profile, ours vs TF.js (with
    # the weights converted per call, and held constant as the frozen forward holds them)
    bench check 220 -- --only unet-check
    bench unet 150 -- --only unet
    bench profile 60 PROFILE_ONLY=unet PROFILE_TOP=40 -- --only profile
    v='[{"name":"const-w","opts":{"path":"tc2"},"constantWeights":true}]'
    bench conv-vs-tfjs 330 CONV_PATHS=tc2-auto CONV_PATHS_JSON="$v" -- --only conv-paths,tfjs
    ;;
  probe) # 2026-11-28d: f16 subgroup matrices from packed workgroup arrays; the network with the 16-subgroup default;
    # weights staged in vec2 units; Dawn's cooperative-matrix robust-access toggle on the B-from-global layer
    t0=$SECONDS
    timeout 120 node dist-bench/bench/sgm-layout-probe.js >"$out/sgm-layout-probe.jsonl" 2>"$out/sgm-layout-probe.log"
    cat "$out/sgm-layout-probe.jsonl"
    echo "== sgm-layout-probe: rc $? in $((SECONDS - t0)) s"
    bench unet 150 -- --only unet
    bench coop-robust 90 CONV_PATHS=tc2-auto CONV_PASSES=forward 'CONV_PATHS_FILTER=64→64 @512²|128→128 @256²' \
      ANIMGS_DAWN_FLAGS=allow_unsafe_apis,vulkan_enable_f16_on_nvidia,disable_robustness,vulkan_use_cooperative_matrix_robust_access \
      -- --only conv-paths
    ;;
  patch) # 2026-11-28d: patch-staged stride-1 forwards (tc2-patch.ts) with several tiles against the default
    v='[{"name":"P16sg","opts":{"path":"tc2","tc2PatchTile":{"bm":128,"bn":128,"bk":32,"sgm":4,"sgn":4,"single":true}}},
      {"name":"P8sg","opts":{"path":"tc2","tc2PatchTile":{"bm":128,"bn":128,"bk":32,"sgm":2,"sgn":4}}},
      {"name":"Pn64","opts":{"path":"tc2","tc2PatchTile":{"bm":128,"bn":64,"bk":32,"sgm":4,"sgn":2}}},
      {"name":"P256x64","opts":{"path":"tc2","tc2PatchTile":{"bm":256,"bn":64,"bk":32,"sgm":8,"sgn":2,"single":true}}},
      {"name":"P64x128","opts":{"path":"tc2","tc2PatchTile":{"bm":64,"bn":128,"bk":32,"sgm":2,"sgn":4}}}]'
    bench patch 400 CONV_PATHS=tc2-auto CONV_PASSES=forward CONV_PATHS_JSON="$v" 'CONV_PATHS_FILTER= s1 ' -- --only conv-paths
    ;;
  patch2) # 2026-11-28d: the patch tile with two staging buffers for B (one barrier per slice) against one
    v='[{"name":"P16sg","opts":{"path":"tc2","tc2PatchTile":{"bm":128,"bn":128,"bk":32,"sgm":4,"sgn":4,"single":true}}},
      {"name":"P16sg-dbl","opts":{"path":"tc2","tc2PatchTile":{"bm":128,"bn":128,"bk":32,"sgm":4,"sgn":4}}},
      {"name":"P128x64-16sg","opts":{"path":"tc2","tc2PatchTile":{"bm":128,"bn":64,"bk":32,"sgm":8,"sgn":2}}},
      {"name":"P256x64","opts":{"path":"tc2","tc2PatchTile":{"bm":256,"bn":64,"bk":32,"sgm":8,"sgn":2,"single":true}}}]'
    bench patch2 200 CONV_PATHS=tc2-auto CONV_PASSES=forward CONV_PATHS_JSON="$v" 'CONV_PATHS_FILTER= s1 ' -- --only conv-paths
    ;;
  patch-net) # 2026-11-28d: the network with patch-staged forwards by default; ours vs TF.js with and without them,
    # and with weights held constant (the frozen forward's case: converted to f16 once)
    bench unet 150 -- --only unet
    bench profile 60 PROFILE_ONLY=unet PROFILE_TOP=40 -- --only profile
    v='[{"name":"no-patch","opts":{"path":"tc2","tc2PatchTile":null}},
      {"name":"const-w","opts":{"path":"tc2"},"constantWeights":true}]'
    bench conv-vs-tfjs 330 CONV_PATHS=tc2-auto CONV_PASSES=forward,input-grad CONV_PATHS_JSON="$v" -- --only conv-paths,tfjs
    ;;
  patch3) # 2026-11-28d: patch staging with B read from global memory (barriers only once per chunk)
    v='[{"name":"PG16","opts":{"path":"tc2","tc2PatchTile":{"bm":128,"bn":128,"bk":32,"sgm":4,"sgn":4,"bGlobal":true}}},
      {"name":"PG16k64","opts":{"path":"tc2","tc2PatchTile":{"bm":128,"bn":128,"bk":64,"sgm":4,"sgn":4,"bGlobal":true}}},
      {"name":"PG256","opts":{"path":"tc2","tc2PatchTile":{"bm":256,"bn":128,"bk":32,"sgm":8,"sgn":2,"bGlobal":true}}},
      {"name":"PGn64","opts":{"path":"tc2","tc2PatchTile":{"bm":256,"bn":64,"bk":32,"sgm":8,"sgn":2,"bGlobal":true}}},
      {"name":"PG8sg","opts":{"path":"tc2","tc2PatchTile":{"bm":128,"bn":128,"bk":32,"sgm":2,"sgn":4,"bGlobal":true}}}]'
    bench patch3 200 CONV_PATHS=tc2-auto CONV_PASSES=forward CONV_PATHS_JSON="$v" 'CONV_PATHS_FILTER= s1 ' -- --only conv-paths
    ;;
  dgrad-patch) # 2026-11-28d: stride-1 input gradients as patch-staged forwards of gy (flipped filter) vs gathers
    v='[{"name":"no-patch","opts":{"path":"tc2","tc2PatchTile":null}}]'
    bench dgrad-patch 150 CONV_PATHS=tc2-auto CONV_PASSES=input-grad CONV_PATHS_JSON="$v" 'CONV_PATHS_FILTER= s1 ' \
      -- --only conv-paths
    bench unet 150 -- --only unet
    ;;
  n64) # 2026-11-28e: patch tiles for the 64-channel layers at 512² (forward, input gradient); tiles of the sub-pixel
    # GEMM of the transposed conv to 64 channels (6/8 of its taps walked in 128-wide tiles)
    v='[{"name":"P256-4x2","opts":{"path":"tc2","tc2PatchTile":{"bm":256,"bn":64,"bk":32,"sgm":4,"sgn":2,"single":true}}},
      {"name":"P256-8x1","opts":{"path":"tc2","tc2PatchTile":{"bm":256,"bn":64,"bk":32,"sgm":8,"sgn":1,"single":true}}},
      {"name":"P256-4x1","opts":{"path":"tc2","tc2PatchTile":{"bm":256,"bn":64,"bk":32,"sgm":4,"sgn":1,"single":true}}},
      {"name":"P256-8x2-dbl","opts":{"path":"tc2","tc2PatchTile":{"bm":256,"bn":64,"bk":32,"sgm":8,"sgn":2}}},
      {"name":"P512-8x2","opts":{"path":"tc2","tc2PatchTile":{"bm":512,"bn":64,"bk":32,"sgm":8,"sgn":2,"single":true}}},
      {"name":"P128-4x1","opts":{"path":"tc2","tc2PatchTile":{"bm":128,"bn":64,"bk":32,"sgm":4,"sgn":1,"single":true}}},
      {"name":"T128x64","opts":{"path":"tc2","tc2Tile":{"bm":128,"bn":64,"bk":32,"sgm":4,"sgn":2}}},
      {"name":"T256x64","opts":{"path":"tc2","tc2Tile":{"bm":256,"bn":64,"bk":32,"sgm":8,"sgn":2,"single":true}}}]'
    bench n64 240 CONV_PATHS=tc2-auto CONV_PASSES=forward,input-grad CONV_PATHS_JSON="$v" \
      'CONV_PATHS_FILTER=64→64 @512²|convT 3x3 s2 128→64' -- --only conv-paths
    ;;
  final2) # 'final' without the full-size check (run it where the kernels changed since the last check)
    bench unet 150 -- --only unet
    bench profile 60 PROFILE_ONLY=unet PROFILE_TOP=40 -- --only profile
    v='[{"name":"const-w","opts":{"path":"tc2"},"constantWeights":true}]'
    bench conv-vs-tfjs 330 CONV_PATHS=tc2-auto CONV_PATHS_JSON="$v" -- --only conv-paths,tfjs
    ;;
  clocks) # the full-size check, then the network with the GPU's SM clock, power and temperature sampled every 50 ms
    bench check 220 -- --only unet-check
    nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu,clocks_throttle_reasons.active \
      --format=csv -lms 50 >"$out/clocks.csv" 2>&1 &
    smi=$!
    date +%T.%N >"$out/unet-start.txt"
    bench unet 150 -- --only unet
    date +%T.%N >>"$out/unet-start.txt"
    kill $smi
    ;;
  timeline) # GPU timestamps around each of ten frozen forwards, queued back to back or waited for (unet-timeline.ts)
    bench timeline 200 -- --only unet-timeline
    ;;
  smoke) # the script itself on any adapter (tiny shapes)
    bench smoke 600 -- --only unet,unet-check --tiny
    ;;
  *)
    echo "usage: bash bench/gpu-session.sh network|kernels|tiles|convert|ablate|probe|final|n64|final2|clocks|timeline|smoke" >&2
    exit 2
    ;;
esac
