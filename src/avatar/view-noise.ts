/**
 * Counter-based Gaussian noise for the view directions: a pure function of (seed, Gaussian index, component), so a
 * replayed training step draws new noise from the seed it finds in its parameter buffer, and the float64 reference
 * draws exactly the same uniforms. The hash is PCG's output permutation (Jarzynski & Olano, "Hash Functions for GPU
 * Rendering", 2020); uniforms take its top 24 bits (exact in f32) in (0, 1]; Box–Muller turns pairs into normals.
 */

/** The PCG hash of a u32 (as a u32 number). */
export function pcgHash(v: number): number {
  const state = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/** Uniform k (0..3) of Gaussian i under `seed`, in (0, 1]. */
export function noiseUniform(seed: number, i: number, k: number): number {
  const h = pcgHash((pcgHash((4 * i + k) >>> 0) + (seed >>> 0)) >>> 0);
  return ((h >>> 8) + 1) / 16777216;
}

/** The three standard normals of Gaussian i under `seed` (Box–Muller on uniforms 0, 1 and 2, 3), in float64. */
export function noiseNormals(seed: number, i: number): [number, number, number] {
  const u = [0, 1, 2, 3].map((k) => noiseUniform(seed, i, k)) as [number, number, number, number];
  const r0 = Math.sqrt(-2 * Math.log(u[0]));
  const r1 = Math.sqrt(-2 * Math.log(u[2]));
  return [r0 * Math.cos(2 * Math.PI * u[1]), r0 * Math.sin(2 * Math.PI * u[1]), r1 * Math.cos(2 * Math.PI * u[3])];
}

/** WGSL twin: `fn noiseNormals(seed: u32, i: u32) -> vec3f`. */
export const VIEW_NOISE_WGSL = /* wgsl */ `
fn pcgHash(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}
fn noiseUniform(seed: u32, i: u32, k: u32) -> f32 {
  let h = pcgHash(pcgHash(4u * i + k) + seed);
  return f32((h >> 8u) + 1u) * (1.0 / 16777216.0);
}
fn noiseNormals(seed: u32, i: u32) -> vec3f {
  let r0 = sqrt(-2.0 * log(noiseUniform(seed, i, 0u)));
  let r1 = sqrt(-2.0 * log(noiseUniform(seed, i, 2u)));
  let a0 = 6.283185307179586 * noiseUniform(seed, i, 1u);
  let a1 = 6.283185307179586 * noiseUniform(seed, i, 3u);
  return vec3f(r0 * cos(a0), r0 * sin(a0), r1 * cos(a1));
}
`;
