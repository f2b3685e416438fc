/**
 * WGSL of the Gaussian skinning kernels (src/avatar/skinning.ts, src/avatar/skinning-view.ts). Every kernel is 1-D
 * over the N Gaussians and shape-generic (N and J travel in the per-dispatch parameters, which are fixed per capture).
 *
 * Layouts: a blended matrix is the top 3×4 of M = Σ_j w_j T_j, stored as three vec4 rows per Gaussian ([N, 3, 4]);
 * joint matrices are [J, 4, 4] row-major (read as four vec4 rows); quaternions are vec4 (w, x, y, z).
 */
import { main1d } from '../tensor/index.js';

/**
 * Quaternion → the three rows of its rotation matrix, normalising first (as the float64 oracle does, so the
 * gradient has no component along q: the upstream normalisation would remove it anyway; pytorch3d's
 * quaternion_to_matrix, dividing by |q|², is the same function), and its backward.
 * Matrix → quaternion: of 4w², 4x², 4y², 4z² (computable from the diagonal) the largest picks the candidate; the
 * divisor 2·max(√s, 0.1), real part made ≥ 0, no renormalisation (M is a blend of rotations, so only near-orthonormal).
 */
const ROTATION = /* wgsl */ `
struct Rows { r0: vec3f, r1: vec3f, r2: vec3f }
fn quatScale(q: vec4f) -> f32 {
  let n2 = dot(q, q);
  return select(1.0, inverseSqrt(n2), n2 > 0.0);
}
fn quatRows(qIn: vec4f) -> Rows {
  let q = qIn * quatScale(qIn);
  let w = q.x; let x = q.y; let y = q.z; let z = q.w;
  return Rows(
    vec3f(1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y - w * z), 2.0 * (x * z + w * y)),
    vec3f(2.0 * (x * y + w * z), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z - w * x)),
    vec3f(2.0 * (x * z - w * y), 2.0 * (y * z + w * x), 1.0 - 2.0 * (x * x + y * y)));
}
/** P = M[:3,:3] · R, rows. */
fn blendTimes(m0: vec4f, m1: vec4f, m2: vec4f, R: Rows) -> Rows {
  return Rows(m0.x * R.r0 + m0.y * R.r1 + m0.z * R.r2,
              m1.x * R.r0 + m1.y * R.r1 + m1.z * R.r2,
              m2.x * R.r0 + m2.y * R.r1 + m2.z * R.r2);
}
/** The quantities of the matrix → quaternion conversion its backward needs again. */
struct M2Q { c: vec4f, k: u32, r: f32, d: f32, sgn: f32 }
fn matToQuatParts(P: Rows) -> M2Q {
  let p00 = P.r0.x; let p01 = P.r0.y; let p02 = P.r0.z;
  let p10 = P.r1.x; let p11 = P.r1.y; let p12 = P.r1.z;
  let p20 = P.r2.x; let p21 = P.r2.y; let p22 = P.r2.z;
  let s = vec4f(1.0 + p00 + p11 + p22, 1.0 + p00 - p11 - p22, 1.0 - p00 + p11 - p22, 1.0 - p00 - p11 + p22);
  var k = 0u;
  for (var t = 1u; t < 4u; t++) { if (s[t] > s[k]) { k = t; } }
  let r = sqrt(max(s[k], 0.0));
  var c: vec4f;
  if (k == 0u) { c = vec4f(r * r, p21 - p12, p02 - p20, p10 - p01); }
  else if (k == 1u) { c = vec4f(p21 - p12, r * r, p10 + p01, p02 + p20); }
  else if (k == 2u) { c = vec4f(p02 - p20, p10 + p01, r * r, p12 + p21); }
  else { c = vec4f(p10 - p01, p20 + p02, p21 + p12, r * r); }
  return M2Q(c, k, r, 2.0 * max(r, 0.1), select(1.0, -1.0, c.x < 0.0));
}
`;

/** Blend: B[i] = top 3×4 of Σ_j W[i, j] T_j (zero weights skipped, as the oracle does). */
export const BLEND_WGSL = /* wgsl */ `
@group(0) @binding(0) var<storage, read> W: array<f32>;
@group(0) @binding(1) var<storage, read> T: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> B: array<vec4f>;
struct PP { n: u32, j: u32 }
@group(1) @binding(0) var<uniform> P: PP;
${main1d('P.n')}
  var r0 = vec4f(0.0); var r1 = vec4f(0.0); var r2 = vec4f(0.0);
  let base = i * P.j;
  for (var j = 0u; j < P.j; j++) {
    let w = W[base + j];
    if (w != 0.0) {
      r0 += w * T[4u * j]; r1 += w * T[4u * j + 1u]; r2 += w * T[4u * j + 2u];
    }
  }
  B[3u * i] = r0; B[3u * i + 1u] = r1; B[3u * i + 2u] = r2;
}`;

/** Forward: posed positions M·[x; 1] and posed rotations quat(M[:3,:3] · R(q)). */
export const SKIN_FORWARD_WGSL = /* wgsl */ `
@group(0) @binding(0) var<storage, read> B: array<vec4f>;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Q: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
@group(0) @binding(4) var<storage, read_write> QO: array<vec4f>;
struct PP { n: u32 }
@group(1) @binding(0) var<uniform> P: PP;
${ROTATION}
${main1d('P.n')}
  let m0 = B[3u * i]; let m1 = B[3u * i + 1u]; let m2 = B[3u * i + 2u];
  let x = vec3f(X[3u * i], X[3u * i + 1u], X[3u * i + 2u]);
  Y[3u * i] = dot(m0.xyz, x) + m0.w;
  Y[3u * i + 1u] = dot(m1.xyz, x) + m1.w;
  Y[3u * i + 2u] = dot(m2.xyz, x) + m2.w;
  let m = matToQuatParts(blendTimes(m0, m1, m2, quatRows(Q[i])));
  QO[i] = m.sgn * m.c / m.d;
}`;

/** Backward of the positions: g_x = M[:3,:3]ᵀ g_y. */
export const SKIN_BACKWARD_POSITIONS_WGSL = /* wgsl */ `
@group(0) @binding(0) var<storage, read> B: array<vec4f>;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> GX: array<f32>;
struct PP { n: u32 }
@group(1) @binding(0) var<uniform> P: PP;
${main1d('P.n')}
  let g = vec3f(G[3u * i], G[3u * i + 1u], G[3u * i + 2u]);
  let gx = g.x * B[3u * i].xyz + g.y * B[3u * i + 1u].xyz + g.z * B[3u * i + 2u].xyz;
  GX[3u * i] = gx.x; GX[3u * i + 1u] = gx.y; GX[3u * i + 2u] = gx.z;
}`;

/**
 * Backward of the rotations: quaternion ← matrix (through the chosen candidate, its divisor and the sign), P = M·R
 * (g_R = Mᵀ g_P), R ← q̂ (the rotation formula's derivative), q̂ = q/|q| (projection off q, over |q|).
 */
export const SKIN_BACKWARD_ROTATIONS_WGSL = /* wgsl */ `
@group(0) @binding(0) var<storage, read> B: array<vec4f>;
@group(0) @binding(1) var<storage, read> Q: array<vec4f>;
@group(0) @binding(2) var<storage, read> G: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> GQ: array<vec4f>;
struct PP { n: u32 }
@group(1) @binding(0) var<uniform> P: PP;
${ROTATION}
${main1d('P.n')}
  let m0 = B[3u * i]; let m1 = B[3u * i + 1u]; let m2 = B[3u * i + 2u];
  let qRaw = Q[i];
  let R = quatRows(qRaw);
  let m = matToQuatParts(blendTimes(m0, m1, m2, R));
  let g = G[i];
  // out = sgn · c / d
  let gc = m.sgn * g / m.d;
  let gd = -m.sgn * dot(g, m.c) / (m.d * m.d);
  // c_k = max(s_k, 0) and d = 2·max(√s_k, 0.1): both through s_k
  var gs = select(0.0, gc[m.k], m.r > 0.0);
  if (m.r > 0.1) { gs += gd / m.r; }
  var gP0 = vec3f(0.0); var gP1 = vec3f(0.0); var gP2 = vec3f(0.0);
  if (m.k == 0u) {
    gP0 += gs * vec3f(1.0, 0.0, 0.0); gP1 += gs * vec3f(0.0, 1.0, 0.0); gP2 += gs * vec3f(0.0, 0.0, 1.0);
    gP2.y += gc.y; gP1.z -= gc.y; gP0.z += gc.z; gP2.x -= gc.z; gP1.x += gc.w; gP0.y -= gc.w;
  } else if (m.k == 1u) {
    gP0.x += gs; gP1.y -= gs; gP2.z -= gs;
    gP2.y += gc.x; gP1.z -= gc.x; gP1.x += gc.z; gP0.y += gc.z; gP0.z += gc.w; gP2.x += gc.w;
  } else if (m.k == 2u) {
    gP0.x -= gs; gP1.y += gs; gP2.z -= gs;
    gP0.z += gc.x; gP2.x -= gc.x; gP1.x += gc.y; gP0.y += gc.y; gP1.z += gc.w; gP2.y += gc.w;
  } else {
    gP0.x -= gs; gP1.y -= gs; gP2.z += gs;
    gP1.x += gc.x; gP0.y -= gc.x; gP2.x += gc.y; gP0.z += gc.y; gP2.y += gc.z; gP1.z += gc.z;
  }
  // P = M3 R: row a of g_R = Σ_r M3[r][a] · row r of g_P
  let G0 = m0.x * gP0 + m1.x * gP1 + m2.x * gP2;
  let G1 = m0.y * gP0 + m1.y * gP1 + m2.y * gP2;
  let G2 = m0.z * gP0 + m1.z * gP1 + m2.z * gP2;
  let sc = quatScale(qRaw);
  let q = qRaw * sc;
  let w = q.x; let x = q.y; let y = q.z; let z = q.w;
  let gqn = 2.0 * vec4f(
    -z * G0.y + y * G0.z + z * G1.x - x * G1.z - y * G2.x + x * G2.y,
    y * G0.y + z * G0.z + y * G1.x - 2.0 * x * G1.y - w * G1.z + z * G2.x + w * G2.y - 2.0 * x * G2.z,
    -2.0 * y * G0.x + x * G0.y + w * G0.z + x * G1.x + z * G1.z - w * G2.x + z * G2.y - 2.0 * y * G2.z,
    -2.0 * z * G0.x - w * G0.y + x * G0.z + w * G1.x - 2.0 * z * G1.y + y * G1.z + x * G2.x + y * G2.y);
  GQ[i] = (gqn - q * dot(q, gqn)) * sc;
}`;
