/**
 * Dawn instance flags and the optional features we ask every adapter for.
 *
 * `allow_unsafe_apis` unlocks Dawn's experimental features (subgroup matrices) and `vulkan_enable_f16_on_nvidia`
 * makes NVIDIA's Vulkan driver expose `shader-f16` and the f16→f32 subgroup-matrix configs (the tensor cores).
 * Both are harmless elsewhere: the f16 toggle only acts on NVIDIA, the unsafe-API toggle only widens what may be
 * requested. Measured on the H100 in ../shared/gpu/NOTES.md. `ANIMGS_DAWN_FLAGS` replaces them (comma-separated
 * Dawn features after `enable-dawn-features=`), for experiments.
 *
 * `disable_robustness` drops the bounds clamps Dawn adds to every storage and workgroup access. Every kernel of
 * ours bounds-checks against sizes passed in its parameters (pooled buffers may be larger than the data), so the
 * clamps only cost time: on the H100 they held the tensor-core convolution at ~22 TFLOP/s; without them the same
 * kernel runs 95–122 TFLOP/s (bench/RESULTS.md). `ANIMGS_ROBUST=1` keeps robustness on (e.g. to debug a kernel that
 * misbehaves). This is a native-process setting; a browser decides robustness itself.
 *
 * `timestamp_quantization` is turned off: Dawn otherwise rounds GPU timestamps (a browser's timing-attack guard)
 * to ~65 µs on the H100, which hides every small kernel from the profiler. A native process has nothing to guard.
 */
export const DEFAULT_DAWN_FEATURES = ['allow_unsafe_apis', 'vulkan_enable_f16_on_nvidia', 'disable_robustness'];

export function dawnFlags(env: Record<string, string | undefined> = process.env): string[] {
  const override = env.ANIMGS_DAWN_FLAGS;
  let features = override !== undefined ? override.split(',').filter(Boolean) : DEFAULT_DAWN_FEATURES;
  if (env.ANIMGS_ROBUST === '1') features = features.filter((f) => f !== 'disable_robustness');
  const flags = features.length ? [`enable-dawn-features=${features.join(',')}`] : [];
  return [...flags, 'disable-dawn-features=timestamp_quantization'];
}

/** Features requested whenever the adapter offers them; the engine picks kernels by what it got. */
export const WANTED_FEATURES = [
  'shader-f16',
  'subgroups',
  'timestamp-query',
  'chromium-experimental-subgroup-matrix',
] as const;
