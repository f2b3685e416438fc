/**
 * Dawn instance flags and the optional features we ask every adapter for.
 *
 * `allow_unsafe_apis` unlocks Dawn's experimental features (subgroup matrices) and `vulkan_enable_f16_on_nvidia`
 * makes NVIDIA's Vulkan driver expose `shader-f16` and the f16→f32 subgroup-matrix configs (the tensor cores).
 * Both are harmless elsewhere: the f16 toggle only acts on NVIDIA, the unsafe-API toggle only widens what may be
 * requested. Measured on the H100 in ../shared/gpu/NOTES.md. `ANIMGS_DAWN_FLAGS` replaces them (comma-separated
 * Dawn features after `enable-dawn-features=`), for experiments.
 *
 * `timestamp_quantization` is turned off: Dawn otherwise rounds GPU timestamps (a browser's timing-attack guard)
 * to ~65 µs on the H100, which hides every small kernel from the profiler. A native process has nothing to guard.
 */
export const DEFAULT_DAWN_FEATURES = ['allow_unsafe_apis', 'vulkan_enable_f16_on_nvidia'];

export function dawnFlags(env: Record<string, string | undefined> = process.env): string[] {
  const override = env.ANIMGS_DAWN_FLAGS;
  const features = override !== undefined ? override.split(',').filter(Boolean) : DEFAULT_DAWN_FEATURES;
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
