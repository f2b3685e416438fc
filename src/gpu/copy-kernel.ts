/**
 * A buffer-to-buffer copy as a compute dispatch, for copies between storage buffers inside recorded work: a copy
 * command ends the compute pass, and a pass break costs the GPU more than a dispatch does (≈ 12–15 µs against
 * ≈ 5.6 µs on an H200); a training step made ~170 such copies (concatenations, gradient accumulators).
 * 4-byte words, or 16-byte ones where offsets and size allow; a grid-stride loop over a bounded grid.
 */
export const COPY_WORKGROUP = 256;
/** Workgroups of one copy at most (each thread then loops): well within every adapter's grid limit. */
export const COPY_MAX_GROUPS = 8192;

export function copyKernelWgsl(vec4: boolean): string {
  const T = vec4 ? 'vec4<u32>' : 'u32';
  return /* wgsl */ `@group(0) @binding(0) var<storage, read> X: array<${T}>;
@group(0) @binding(1) var<storage, read_write> Y: array<${T}>;
struct PP { n: u32, src: u32, dst: u32 }
@group(1) @binding(0) var<uniform> P: PP;
@compute @workgroup_size(${COPY_WORKGROUP})
fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let stride = nwg.x * ${COPY_WORKGROUP}u;
  for (var i = id.x; i < P.n; i += stride) {
    Y[P.dst + i] = X[P.src + i];
  }
}`;
}
