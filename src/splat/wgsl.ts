/**
 * WGSL of the rasterizer's kernels. The semantics are those of reference.ts (read its header); the kernels
 * transliterate it. Layouts:
 * - gs: the per-Gaussian record, six planes of n vec4f (plane k of Gaussian g at k·n + g):
 *     0 xyd   = (pixel x, pixel y, view depth, bitcast(screen radius: i32, 0 = culled))
 *     1 conicO = (conic a, b, c, opacity)      2 rgbc = (r, g, b, bitcast(clamp bits))
 *     3 (mean xyz, bitcast(span first))        4 (scale xyz, bitcast(span end))        5 rotation (as given)
 *   Planes 3–5 are the preprocess's inputs as the backward needs them, and the span shares them: one binding
 *   instead of nine keeps every kernel within WebGPU's default 8 storage buffers per stage (what browsers grant).
 * - img       = 5 planes of H×W: r, g, b, depth, alpha  aux = 2 planes: final T (f32 bits), last contributor
 * - keys[p]   = tile id | ordinal << fr.tileBits: the pair's tile, and its place among the tiles of its Gaussian
 *               (the sort compares only the low tileBits bits)
 * - span[g]   = [first, end) of Gaussian g's pairs in the order duplicate emits them (its tiles in raster order)
 * - part[10s..] = the blend backward's screen-space gradients of pair slot s (an emission index, span[g].x +
 *               ordinal): pixel mean x, y; conic a, b, c (true partials); opacity; r, g, b; depth
 */
import { cached } from '../gpu/source-cache.js';
import { GRID_INDEX } from '../gpu/grid.js';
import { rasterConstsWgsl, TILE } from './constants.js';

/**
 * What a frame reads: the view (camera and background, `c`) from a uniform buffer the caller uploads per frame
 * (view.ts), so a captured frame replays with a new camera; the sizes (`fr`), fixed for a capture, as per-dispatch
 * parameters (rasterizer.ts `frameParams`). `cap` is the pair capacity: duplicate writes no pair at or past it.
 */
export const FRAME_STRUCT = /* wgsl */ `
struct View {
  r0: vec4f, r1: vec4f, r2: vec4f,
  intr: vec4f,
  proj: vec4f,
  fov: vec4f,
  campos: vec4f,
  bg: vec4f,
}
struct Frame {
  n: u32, width: u32, height: u32, tilesX: u32,
  tilesY: u32, shDeg: u32, shK: u32, mode: u32,
  cap: u32, tileBits: u32,
}
@group(1) @binding(0) var<uniform> fr: Frame;
`;

/** The view's uniform binding at group 0, binding `i` (after the kernel's storage buffers). */
const view = (i: number) => `@group(0) @binding(${i}) var<uniform> c: View;
${FRAME_STRUCT}`;

const COMMON = /* wgsl */ `
const SH_C0 = 0.28209479177387814;
const SH_C1 = 0.4886025119029199;
fn quatMat(q: vec4f) -> mat3x3f {
  let r = q.x; let x = q.y; let y = q.z; let z = q.w;
  // Columns of the row-major matrix [[1-2(yy+zz), 2(xy-rz), 2(xz+ry)], [2(xy+rz), 1-2(xx+zz), 2(yz-rx)], [2(xz-ry), 2(yz+rx), 1-2(xx+yy)]].
  return mat3x3f(
    vec3f(1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y + r * z), 2.0 * (x * z - r * y)),
    vec3f(2.0 * (x * y - r * z), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z + r * x)),
    vec3f(2.0 * (x * z + r * y), 2.0 * (y * z - r * x), 1.0 - 2.0 * (x * x + y * y)));
}
/** World point → view space (OpenCV camera: R·p + T). */
fn viewPoint(p: vec3f) -> vec3f {
  return vec3f(dot(c.r0.xyz, p) + c.r0.w, dot(c.r1.xyz, p) + c.r1.w, dot(c.r2.xyz, p) + c.r2.w);
}
/** M = R(q)·diag(s): Σ = M Mᵀ. */
fn scaledRotation(Rq: mat3x3f, s: vec3f) -> mat3x3f { return mat3x3f(Rq[0] * s.x, Rq[1] * s.y, Rq[2] * s.z); }
/**
 * The rows of Tm = J·W of the EWA projection at view point t, with x/z and y/z clamped to ±1.3·tan(fov); mul.x/y
 * are 0 where the clamp is active (no gradient through the clamped component).
 */
struct Jac { tm0: vec3f, tm1: vec3f, txc: f32, tyc: f32, mul: vec2f }
fn projJacobian(t: vec3f) -> Jac {
  let limx = 1.3 * c.fov.x;
  let limy = 1.3 * c.fov.y;
  let txtz = t.x / t.z;
  let tytz = t.y / t.z;
  let txc = min(limx, max(-limx, txtz)) * t.z;
  let tyc = min(limy, max(-limy, tytz)) * t.z;
  let mulx = select(1.0, 0.0, txtz < -limx || txtz > limx);
  let muly = select(1.0, 0.0, tytz < -limy || tytz > limy);
  let fx = c.intr.x;
  let fy = c.intr.y;
  let j00 = fx / t.z;
  let j02 = -fx * txc / (t.z * t.z);
  let j11 = fy / t.z;
  let j12 = -fy * tyc / (t.z * t.z);
  return Jac(j00 * c.r0.xyz + j02 * c.r2.xyz, j11 * c.r1.xyz + j12 * c.r2.xyz, txc, tyc, vec2f(mulx, muly));
}
fn tileRect(xy: vec2f, r: f32) -> vec4u {
  let tx = i32(fr.tilesX);
  let ty = i32(fr.tilesY);
  return vec4u(
    u32(clamp(i32((xy.x - r) / 16.0), 0, tx)),
    u32(clamp(i32((xy.y - r) / 16.0), 0, ty)),
    u32(clamp(i32((xy.x + r + 15.0) / 16.0), 0, tx)),
    u32(clamp(i32((xy.y + r + 15.0) / 16.0), 0, ty)));
}
/**
 * Whether a Gaussian (pixel mean xy, conic co.xyz = A, B, C) can reach α ≥ 1/255 at any pixel of tile (tx, ty),
 * i.e. whether q = A dx² + 2B dx dy + C dy² ≤ thr = 2 ln(255 o) somewhere on the tile's pixel box. Outside the
 * box the minimum lies on an edge, at the edge's clamped stationary point. The margin covers f32 rounding here and
 * in the blend, so a dropped tile is one where the blend would skip the Gaussian at every pixel: dropping it
 * changes no output and no gradient, only the work (≈ 30% fewer pairs on avatar-like scenes).
 */
fn tileHit(xy: vec2f, co: vec3f, thr: f32, tx: u32, ty: u32) -> bool {
  let lo = vec2f(f32(tx), f32(ty)) * 16.0 - xy;
  let hi = lo + vec2f(15.0);
  if (all(lo <= vec2f(0.0)) && all(hi >= vec2f(0.0))) { return true; }
  var qmin = 3.0e38;
  var qabs = 0.0;
  for (var e = 0u; e < 4u; e++) {
    var d: vec2f;
    if (e < 2u) {
      d.x = select(lo.x, hi.x, e == 1u);
      d.y = clamp(-co.y * d.x / co.z, lo.y, hi.y);
    } else {
      d.y = select(lo.y, hi.y, e == 3u);
      d.x = clamp(-co.y * d.y / co.x, lo.x, hi.x);
    }
    let sq = co.x * d.x * d.x + co.z * d.y * d.y;
    let cross = 2.0 * co.y * d.x * d.y;
    if (sq + cross < qmin) {
      qmin = sq + cross;
      qabs = sq + abs(cross);
    }
  }
  return qmin <= thr + 0.001 + 0.00001 * qabs;
}
/** Tiles of the rectangle where the Gaussian is visible (see tileHit). */
fn tileThreshold(opacity: f32) -> f32 { return 2.0 * log(INV_ALPHA_MIN * opacity); }
/**
 * SH basis function k at unit direction d and its gradient: (Y_k, dY_k/dd). A switch on k rather than arrays of all
 * 16 indexed by k: a dynamically indexed private array goes to local memory on a GPU, and lavapipe's LLVM took
 * ~7 s to compile the two kernels' array version.
 */
fn shTerm(k: u32, d: vec3f) -> vec4f {
  let x = d.x; let y = d.y; let z = d.z;
  let xx = x * x; let yy = y * y; let zz = z * z;
  switch k {
    case 0u: { return vec4f(SH_C0, 0.0, 0.0, 0.0); }
    case 1u: { return vec4f(-SH_C1 * y, 0.0, -SH_C1, 0.0); }
    case 2u: { return vec4f(SH_C1 * z, 0.0, 0.0, SH_C1); }
    case 3u: { return vec4f(-SH_C1 * x, -SH_C1, 0.0, 0.0); }
    case 4u: { return 1.0925484305920792 * vec4f(x * y, y, x, 0.0); }
    case 5u: { return -1.0925484305920792 * vec4f(y * z, 0.0, z, y); }
    case 6u: { return 0.31539156525252005 * vec4f(2.0 * zz - xx - yy, -2.0 * x, -2.0 * y, 4.0 * z); }
    case 7u: { return -1.0925484305920792 * vec4f(x * z, z, 0.0, x); }
    case 8u: { return 0.5462742152960396 * vec4f(xx - yy, 2.0 * x, -2.0 * y, 0.0); }
    case 9u: { return -0.5900435899266435 * vec4f(y * (3.0 * xx - yy), 6.0 * x * y, 3.0 * xx - 3.0 * yy, 0.0); }
    case 10u: { return 2.890611442640554 * vec4f(x * y * z, y * z, x * z, x * y); }
    case 11u: {
      return -0.4570457994644658 * vec4f(y * (4.0 * zz - xx - yy), -2.0 * x * y, 4.0 * zz - xx - 3.0 * yy, 8.0 * y * z);
    }
    case 12u: {
      return 0.3731763325901154 *
        vec4f(z * (2.0 * zz - 3.0 * xx - 3.0 * yy), -6.0 * x * z, -6.0 * y * z, 6.0 * zz - 3.0 * xx - 3.0 * yy);
    }
    case 13u: {
      return -0.4570457994644658 * vec4f(x * (4.0 * zz - xx - yy), 4.0 * zz - 3.0 * xx - yy, -2.0 * x * y, 8.0 * x * z);
    }
    case 14u: { return 1.445305721320277 * vec4f(z * (xx - yy), 2.0 * x * z, -2.0 * y * z, xx - yy); }
    default: { return -0.5900435899266435 * vec4f(x * (xx - 3.0 * yy), 3.0 * xx - 3.0 * yy, -6.0 * x * y, 0.0); }
  }
}
fn loadV3(a: ptr<storage, array<f32>, read>, i: u32) -> vec3f { return vec3f((*a)[3u * i], (*a)[3u * i + 1u], (*a)[3u * i + 2u]); }
`;

/** The gs planes (see the header), for kernels that bind the record as \`gs\`. */
const RASTER = rasterConstsWgsl();

const PLANES = /* wgsl */ `
const XYD = 0u; const CONIC = 1u; const RGBC = 2u; const MEAN = 3u; const SCALE = 4u; const ROT = 5u;
fn at(plane: u32, g: u32) -> u32 { return plane * fr.n + g; }
fn radiusOf(g: u32) -> i32 { return bitcast<i32>(gs[at(XYD, g)].w); }
fn spanOf(g: u32) -> vec2u { return vec2u(bitcast<u32>(gs[at(MEAN, g)].w), bitcast<u32>(gs[at(SCALE, g)].w)); }
`;

/** Per Gaussian: cull, 3D and 2D covariance, conic, radius, pixel mean, colour (precomputed or SH), tile count. */
export const PREPROCESS = /* wgsl */ `
@group(0) @binding(0) var<storage, read> means: array<f32>;
@group(0) @binding(1) var<storage, read> scales: array<f32>;
@group(0) @binding(2) var<storage, read> rots: array<vec4f>;
@group(0) @binding(3) var<storage, read> opac: array<f32>;
@group(0) @binding(4) var<storage, read> feat: array<f32>;
@group(0) @binding(5) var<storage, read_write> gs: array<vec4f>;
@group(0) @binding(6) var<storage, read_write> tiles: array<u32>;
@group(0) @binding(7) var<storage, read_write> depthKey: array<u32>;
${view(8)}
${COMMON}
${RASTER}
${PLANES}
${GRID_INDEX}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = gridIndex(wg, nwg, li, 256u);
  if (i >= fr.n) { return; }
  // radius 0 (culled) unless the end is reached; the backward reads nothing else of a culled Gaussian
  gs[at(XYD, i)] = vec4f(0.0);
  tiles[i] = 0u;
  depthKey[i] = 0xffffffffu;
  let p = loadV3(&means, i);
  let t = viewPoint(p);
  if (t.z <= NEAR) { return; }
  let M = scaledRotation(quatMat(rots[i]), loadV3(&scales, i));
  let Sigma = M * transpose(M);
  let jac = projJacobian(t);
  let tm0 = jac.tm0;
  let tm1 = jac.tm1;
  let st1 = Sigma * tm1;
  let a = dot(tm0, Sigma * tm0) + DILATION;
  let b = dot(tm0, st1);
  let cc = dot(tm1, st1) + DILATION;
  let det = a * cc - b * b;
  if (det == 0.0) { return; }
  let inv = 1.0 / det;
  let mid = 0.5 * (a + cc);
  let l1 = mid + sqrt(max(0.1, mid * mid - det));
  let l2 = mid - sqrt(max(0.1, mid * mid - det));
  let radius = ceil(RADIUS_SIGMAS * sqrt(max(l1, l2)));
  let pw = 1.0 / (t.z + 0.0000001);
  let ndcx = (c.proj.x * t.x + c.proj.y * t.z) * pw;
  let ndcy = (c.proj.z * t.y + c.proj.w * t.z) * pw;
  let xy = vec2f(((ndcx + 1.0) * c.fov.z - 1.0) * 0.5, ((ndcy + 1.0) * c.fov.w - 1.0) * 0.5);
  let rect = tileRect(xy, radius);
  let area = (rect.z - rect.x) * (rect.w - rect.y);
  if (area == 0u) { return; }
  var rgb: vec3f;
  var clampBits = 0u;
  if (fr.mode == 0u) {
    rgb = loadV3(&feat, i);
  } else {
    let dir = normalize(p - c.campos.xyz);
    let nb = (fr.shDeg + 1u) * (fr.shDeg + 1u);
    var v = vec3f(0.5);
    for (var k = 0u; k < nb; k++) { v += shTerm(k, dir).x * loadV3(&feat, i * fr.shK + k); }
    if (v.x < 0.0) { clampBits |= 1u; }
    if (v.y < 0.0) { clampBits |= 2u; }
    if (v.z < 0.0) { clampBits |= 4u; }
    rgb = max(v, vec3f(0.0));
  }
  let co = vec4f(cc * inv, -b * inv, a * inv, opac[i]);
  let thr = tileThreshold(co.w);
  var hits = 0u;
  for (var y = rect.y; y < rect.w; y++) {
    for (var x = rect.x; x < rect.z; x++) {
      if (tileHit(xy, co.xyz, thr, x, y)) { hits++; }
    }
  }
  gs[at(XYD, i)] = vec4f(xy, t.z, bitcast<f32>(i32(radius)));
  gs[at(CONIC, i)] = co;
  gs[at(RGBC, i)] = vec4f(rgb, bitcast<f32>(clampBits));
  // the backward's inputs, with an empty span (duplicate writes the real one; with no pairs it does not run)
  gs[at(MEAN, i)] = vec4f(p, 0.0);
  gs[at(SCALE, i)] = vec4f(loadV3(&scales, i), 0.0);
  gs[at(ROT, i)] = rots[i];
  tiles[i] = hits;
  depthKey[i] = bitcast<u32>(t.z);
}`;

/** tilesSorted[k] = tiles[order[k]] (tile counts in depth order). */
export const GATHER = /* wgsl */ `
@group(0) @binding(0) var<storage, read> order: array<u32>;
@group(0) @binding(1) var<storage, read> tiles: array<u32>;
@group(0) @binding(2) var<storage, read_write> outp: array<u32>;
struct P { n: u32 }
@group(1) @binding(0) var<uniform> p: P;
${GRID_INDEX}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = gridIndex(wg, nwg, li, 256u);
  if (i < p.n) { outp[i] = tiles[order[i]]; }
}`;

/**
 * One (tile, Gaussian) pair per tile each Gaussian reaches (tileHit), Gaussians visited in depth order; the key
 * carries the tile's ordinal among its Gaussian's tiles, and span[g] the Gaussian's range of pairs, so the blend
 * backward can put each pair's gradients at the pair's emission index and the preprocess backward sum a
 * Gaussian's pairs in a fixed order (deterministic gradients, no float atomics).
 */
export const DUPLICATE = /* wgsl */ `
@group(0) @binding(0) var<storage, read> order: array<u32>;
@group(0) @binding(1) var<storage, read> offsets: array<u32>;
@group(0) @binding(2) var<storage, read_write> gs: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> keys: array<u32>;
@group(0) @binding(4) var<storage, read_write> vals: array<u32>;
${view(5)}
${COMMON}
${RASTER}
${PLANES}
fn setSpan(g: u32, first: u32, end: u32) {
  gs[at(MEAN, g)].w = bitcast<f32>(first);
  gs[at(SCALE, g)].w = bitcast<f32>(end);
}
${GRID_INDEX}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = gridIndex(wg, nwg, li, 256u);
  if (i >= fr.n) { return; }
  let g = order[i];
  let r = radiusOf(g);
  if (r <= 0) { return; } // planes 3 and 4 (the span) were not written: the backward reads only the radius
  let xy = gs[at(XYD, g)].xy;
  let rect = tileRect(xy, f32(r));
  let co = gs[at(CONIC, g)];
  let thr = tileThreshold(co.w);
  let first = offsets[i];
  var off = first;
  for (var y = rect.y; y < rect.w; y++) {
    for (var x = rect.x; x < rect.z; x++) {
      if (!tileHit(xy, co.xyz, thr, x, y)) { continue; }
      // past the capacity the pairs are dropped (the farthest Gaussians'; the caller sees the overflow flag)
      if (off >= fr.cap) {
        setSpan(g, first, off);
        return;
      }
      keys[off] = (y * fr.tilesX + x) | ((off - first) << fr.tileBits);
      vals[off] = g;
      off++;
    }
  }
  setSpan(g, first, off);
}`;

/**
 * ranges[tile] = [start, end) of its pairs in the tile-sorted list (ranges cleared to zero beforehand); the pair
 * count m is count[0], written on the GPU (the scan's total, or the capacity-limited count).
 */
export const RANGES = /* wgsl */ `
@group(0) @binding(0) var<storage, read> keys: array<u32>;
@group(0) @binding(1) var<storage, read_write> ranges: array<vec2u>;
@group(0) @binding(2) var<storage, read> count: array<u32>;
struct P { mask: u32 }
@group(1) @binding(0) var<uniform> p: P;
${GRID_INDEX}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = gridIndex(wg, nwg, li, 256u);
  let m = count[0];
  if (i >= m) { return; }
  let k = keys[i] & p.mask;
  if (i == 0u || (keys[i - 1u] & p.mask) != k) { ranges[k].x = i; }
  if (i == m - 1u || (keys[i + 1u] & p.mask) != k) { ranges[k].y = i + 1u; }
}`;

/**
 * The capturable path's pair count, with no read-back: M = total[0] (the scan of the tiles touched) is limited to
 * the capacity; m = min(M, cap) goes to count[0] and the ranges pass's workgroup grid (as grid1d lays it out) to
 * args; the pair keys in [m, cap) become 0xffffffff, so the sort, run on all cap keys, leaves them after the real
 * pairs (the largest digit, and stable). stats[0] is set when M > cap (sticky: the caller reads and clears it
 * between steps), stats[1] keeps the largest M seen, which sizes the next capacity.
 */
export const PAIR_LIMIT = /* wgsl */ `
@group(0) @binding(0) var<storage, read> total: array<u32>;
@group(0) @binding(1) var<storage, read_write> keys: array<u32>;
@group(0) @binding(2) var<storage, read_write> count: array<u32>;
@group(0) @binding(3) var<storage, read_write> args: array<u32>;
@group(0) @binding(4) var<storage, read_write> stats: array<u32>;
struct P { cap: u32 }
@group(1) @binding(0) var<uniform> p: P;
${GRID_INDEX}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = gridIndex(wg, nwg, li, 256u);
  let M = total[0];
  let m = min(M, p.cap);
  if (i < p.cap && i >= m) { keys[i] = 0xffffffffu; }
  if (i == 0u) {
    count[0] = m;
    let groups = (m + 255u) / 256u;
    let y = max(1u, (groups + 65534u) / 65535u);
    args[0] = (groups + y - 1u) / y;
    args[1] = y;
    args[2] = 1u;
    if (M > p.cap) { stats[0] = 1u; }
    stats[1] = max(stats[1], M);
  }
}`;

/** Forward blend: one 16×16 workgroup per tile, Gaussians loaded 256 at a time into workgroup memory. */
export const BLEND = /* wgsl */ `
@group(0) @binding(0) var<storage, read> ranges: array<vec2u>;
@group(0) @binding(1) var<storage, read> vals: array<u32>;
@group(0) @binding(2) var<storage, read> gs: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> img: array<f32>;
@group(0) @binding(4) var<storage, read_write> aux: array<u32>;
${view(5)}
${RASTER}
${PLANES}
// xy and a power below which α < 1/255 for certain: ln(1/(255·o)) less a margin far above f32 rounding, so the
// loop skips exp for most pixels a Gaussian does not reach and still takes exactly the decisions of the full test.
var<workgroup> sXY: array<vec4f, TILE_PIXELS>;
var<workgroup> sCO: array<vec4f, TILE_PIXELS>;
var<workgroup> sCD: array<vec4f, TILE_PIXELS>;
var<workgroup> doneCount: atomic<u32>;
var<workgroup> doneAll: u32;
@compute @workgroup_size(TILE, TILE)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  let tile = wg.y * fr.tilesX + wg.x;
  let px = wg.x * TILE + lid.x;
  let py = wg.y * TILE + lid.y;
  let inside = px < fr.width && py < fr.height;
  let pixf = vec2f(f32(px), f32(py));
  let range = ranges[tile];
  let total = range.y - range.x;
  let rounds = (total + TILE_PIXELS - 1u) / TILE_PIXELS;
  var done = !inside;
  var T = 1.0;
  var C = vec3f(0.0);
  var D = 0.0;
  var A = 0.0;
  var contributor = 0u;
  var last = 0u;
  for (var r = 0u; r < rounds; r++) {
    if (li == 0u) { atomicStore(&doneCount, 0u); }
    workgroupBarrier();
    if (done) { atomicAdd(&doneCount, 1u); }
    workgroupBarrier();
    if (li == 0u) { doneAll = atomicLoad(&doneCount); }
    if (workgroupUniformLoad(&doneAll) == TILE_PIXELS) { break; }
    let idx = range.x + r * TILE_PIXELS + li;
    if (idx < range.y) {
      let g = vals[idx];
      let v = gs[at(XYD, g)];
      let co = gs[at(CONIC, g)];
      sXY[li] = vec4f(v.xy, -log(INV_ALPHA_MIN * co.w) - 0.001, 0.0);
      sCO[li] = co;
      sCD[li] = vec4f(gs[at(RGBC, g)].xyz, v.z);
    }
    workgroupBarrier();
    let cnt = min(TILE_PIXELS, total - r * TILE_PIXELS);
    for (var j = 0u; j < cnt && !done; j++) {
      contributor++;
      let xyt = sXY[j];
      let d = xyt.xy - pixf;
      let co = sCO[j];
      let power = -0.5 * (co.x * d.x * d.x + co.z * d.y * d.y) - co.y * d.x * d.y;
      if (power > 0.0 || power < xyt.z) { continue; }
      let alpha = min(ALPHA_MAX, co.w * exp(power));
      if (alpha < ALPHA_MIN) { continue; }
      let testT = T * (1.0 - alpha);
      if (testT < T_MIN) { done = true; continue; }
      let w = alpha * T;
      C += sCD[j].xyz * w;
      D += sCD[j].w * w;
      A += w;
      T = testT;
      last = contributor;
    }
    workgroupBarrier();
  }
  if (inside) {
    let hw = fr.width * fr.height;
    let pix = py * fr.width + px;
    let col = C + T * c.bg.xyz;
    img[pix] = col.x;
    img[hw + pix] = col.y;
    img[2u * hw + pix] = col.z;
    img[3u * hw + pix] = D;
    img[4u * hw + pix] = A;
    aux[pix] = bitcast<u32>(T);
    aux[hw + pix] = last;
  }
}`;

/**
 * Backward blend: per tile, back to front; per pixel the standard 3DGS recurrences. The gradients are summed with
 * no atomics, in an order fixed by the tile's layout, so a step gives the same bits every run (and a captured step
 * replays the eager one exactly): per Gaussian, first within each subgroup (subgroupAdd) or, without subgroups,
 * within each pixel row (a serial sum through workgroup memory), then over those S partial sums in index order,
 * after every J Gaussians (a chunk); the pair's 10 sums go to its slot in `part` (the pair's emission index, from
 * span and the key's ordinal), where the preprocess backward adds up each Gaussian's pairs in emission order. Pairs
 * no pixel reaches (past the tile's last contributor) get zeros.
 */
export function blendBackwardWgsl(subgroups: boolean, minSubgroupSize: number, exactSubgroupSize = 0): string {
  const exact = subgroups && isButterflySize(exactSubgroupSize) ? exactSubgroupSize : 0;
  const sgMin = subgroups ? exact || Math.min(256, Math.max(4, minSubgroupSize || 4)) : 0;
  return cached(`splat_blend_backward|${subgroups}|${sgMin}|${exact}`, () =>
    buildBlendBackwardWgsl(subgroups, sgMin, exact),
  );
}

/** Subgroup sizes the butterfly reduction is generated for (a power of two that divides the 256-pixel tile). */
function isButterflySize(n: number): boolean {
  return n >= 4 && n <= 256 && (n & (n - 1)) === 0;
}

/**
 * Sums K per-lane values over a subgroup of a size known when the shader is generated, as a reduce-scatter: at each
 * step (lane offset o = size/2, size/4, …) a lane keeps half of the values it still holds, sends the other half to
 * lane ⊕ o and adds what that lane sends back, so after log2 steps each lane holds the subgroup's sum of one value.
 * K = 10 over 32 lanes takes 5 + 3 + 2 + 1 + 1 = 12 shuffles instead of the 10 × 5 of ten subgroupAdd calls, the
 * bulk of the blend backward's per-Gaussian work. Odd counts are padded with zeros, so which value a lane ends with
 * depends on its lane bits through a table. The order of the additions is fixed, so results repeat bit for bit.
 * Reads `v` (array<f32, K>) and `sgi`; writes each sum once to `sPart[base + k]`.
 */
export function butterflyReduce(K: number, size: number): string {
  const lines: string[] = [`var x = v;`];
  let ids: number[][] = [Array.from({ length: K }, (_, i) => i)]; // per pattern of the split steps' lane bits
  let m = K;
  let o = size / 2;
  const splitBits: number[] = [];
  while (m > 1 && o >= 1) {
    const half = (m + (m & 1)) / 2;
    const at = (p: number): string => (p < m ? `x[${p}]` : '0.0');
    lines.push(`{ let up = (sgi & ${o}u) != 0u;`);
    for (let p = 0; p < half; p++)
      lines.push(
        `  x[${p}] = select(${at(p)}, ${at(p + half)}, up) + subgroupShuffleXor(select(${at(p + half)}, ${at(p)}, up), ${o}u);`,
      );
    lines.push(`}`);
    ids = ids.flatMap((row) => {
      const padded = [...row, ...Array(2 * half - row.length).fill(-1)];
      return [padded.slice(0, half), padded.slice(half)];
    });
    splitBits.push(o);
    m = half;
    o /= 2;
  }
  let addMask = 0;
  for (; o >= 1; o /= 2) {
    lines.push(`x[0] += subgroupShuffleXor(x[0], ${o}u);`);
    addMask |= o;
  }
  // the pattern index: the split steps' lane bits, first step most significant (as ids was built)
  const pattern = splitBits.map((bit, l) => `(((sgi / ${bit}u) & 1u) << ${splitBits.length - 1 - l}u)`).join(' | ');
  const table = ids.flat();
  lines.push(`if ((sgi & ${addMask}u) == 0u) {`);
  lines.push(`  let pat = ${pattern || '0u'};`);
  lines.push(`  var id = array<i32, ${table.length}>(${table.join(', ')});`);
  for (let p = 0; p < m; p++)
    lines.push(`  { let k = id[pat * ${m}u + ${p}u]; if (k >= 0) { sPart[base + u32(k)] = x[${p}]; } }`);
  lines.push(`}`);
  return lines.join('\n');
}

function buildBlendBackwardWgsl(subgroups: boolean, sgMin: number, exact: number): string {
  // S partial sums per Gaussian: one per subgroup (as many as the smallest subgroup size allows), or one per row;
  // J Gaussians per chunk, so the partials take 2560 floats (subgroups) or 1280 (rows, plus 2560 for the staging).
  const S = subgroups ? Math.ceil((TILE * TILE) / sgMin) : TILE;
  const J = subgroups ? Math.max(1, Math.floor((TILE * TILE) / S)) : 8;
  const reduce = subgroups
    ? `
        // one partial per subgroup (its lowest lane writes it), zeros where no lane of it has a contribution
        let base = (jj * S + sg) * 10u;
        if (subgroupAny(valid)) {${
          exact
            ? `
${butterflyReduce(10, exact).replace(/^/gm, '          ')}`
            : `
          for (var k = 0u; k < 10u; k++) {
            let s = subgroupAdd(v[k]);
            if (sgi == 0u) { sPart[base + k] = s; }
          }`
        }
        } else if (sgi == 0u) {
          for (var k = 0u; k < 10u; k++) { sPart[base + k] = 0.0; }
        }`
    : `
        // one partial per pixel row: each row's 16 values summed left to right by one thread per component
        for (var k = 0u; k < 10u; k++) { sV[k * TILE_PIXELS + li] = v[k]; }
        workgroupBarrier();
        if (li < 160u) {
          let k = li / TILE;
          let row = li - TILE * k;
          var s = 0.0;
          for (var x = 0u; x < TILE; x++) { s += sV[k * TILE_PIXELS + row * TILE + x]; }
          sPart[(jj * S + row) * 10u + k] = s;
        }
        workgroupBarrier();`;
  return /* wgsl */ `${subgroups ? 'enable subgroups;\ndiagnostic(off, subgroup_uniformity);' : ''}
@group(0) @binding(0) var<storage, read> ranges: array<vec2u>;
@group(0) @binding(1) var<storage, read> keys: array<u32>;
@group(0) @binding(2) var<storage, read> vals: array<u32>;
@group(0) @binding(3) var<storage, read> gs: array<vec4f>;
@group(0) @binding(4) var<storage, read> aux: array<u32>;
@group(0) @binding(5) var<storage, read> dimg: array<f32>;
@group(0) @binding(6) var<storage, read_write> part: array<f32>;
${view(7)}
${RASTER}
${PLANES}
const S = ${S}u;
const J = ${J}u;
var<workgroup> sXY: array<vec4f, TILE_PIXELS>; // xy and the skip bound of the forward blend
var<workgroup> sCO: array<vec4f, TILE_PIXELS>;
var<workgroup> sCD: array<vec4f, TILE_PIXELS>;
var<workgroup> sSlot: array<u32, TILE_PIXELS>;
var<workgroup> sPart: array<f32, ${J * S * 10}>;
${subgroups ? '' : `var<workgroup> sV: array<f32, ${10 * TILE * TILE}>;`}
var<workgroup> maxLast: atomic<u32>;
var<workgroup> maxLastU: u32;
/** The slot of sorted pair idx: its Gaussian's first slot plus the tile's ordinal (the key's high bits). */
fn slotOf(idx: u32) -> u32 { return spanOf(vals[idx]).x + (keys[idx] >> fr.tileBits); }
@compute @workgroup_size(TILE, TILE)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32${
    subgroups ? ', @builtin(subgroup_invocation_id) sgi: u32, @builtin(subgroup_size) sgs: u32' : ''
  }) {
  let tile = wg.y * fr.tilesX + wg.x;
  let px = wg.x * TILE + lid.x;
  let py = wg.y * TILE + lid.y;
  let inside = px < fr.width && py < fr.height;
  let pixf = vec2f(f32(px), f32(py));
  let hw = fr.width * fr.height;
  let pix = py * fr.width + px;
  let range = ranges[tile];
  var Tfinal = 0.0;
  var last = 0u;
  var dC = vec3f(0.0);
  var dD = 0.0;
  var dA = 0.0;
  if (inside) {
    Tfinal = bitcast<f32>(aux[pix]);
    last = aux[hw + pix];
    dC = vec3f(dimg[pix], dimg[hw + pix], dimg[2u * hw + pix]);
    dD = dimg[3u * hw + pix];
    dA = dimg[4u * hw + pix];
  }
  if (li == 0u) { atomicStore(&maxLast, 0u); }
  workgroupBarrier();
  atomicMax(&maxLast, last);
  workgroupBarrier();
  if (li == 0u) { maxLastU = atomicLoad(&maxLast); }
  let total = workgroupUniformLoad(&maxLastU);
  let end = range.x + total;
  for (var t = li; t < (range.y - end) * 10u; t += TILE_PIXELS) {
    let q = t / 10u;
    part[10u * slotOf(end + q) + t - 10u * q] = 0.0;
  }
  // Subgroups are assumed to be runs of consecutive local indices (as every implementation lays them out).
  let nsg = ${subgroups ? 'TILE_PIXELS / sgs' : 'S'};
  ${subgroups ? 'let sg = li / sgs;' : ''}
  let rounds = (total + TILE_PIXELS - 1u) / TILE_PIXELS;
  let bgDot = dot(c.bg.xyz, dC);
  var T = Tfinal;
  var accC = vec3f(0.0);
  var accD = 0.0;
  var accA = 0.0;
  var lastAlpha = 0.0;
  var lastC = vec3f(0.0);
  var lastD = 0.0;
  for (var r = 0u; r < rounds; r++) {
    if (r * TILE_PIXELS + li < total) {
      let idx = end - 1u - r * TILE_PIXELS - li;
      let g = vals[idx];
      let v = gs[at(XYD, g)];
      sSlot[li] = spanOf(g).x + (keys[idx] >> fr.tileBits);
      let co = gs[at(CONIC, g)];
      sXY[li] = vec4f(v.xy, -log(INV_ALPHA_MIN * co.w) - 0.001, 0.0);
      sCO[li] = co;
      sCD[li] = vec4f(gs[at(RGBC, g)].xyz, v.z);
    }
    workgroupBarrier();
    let cnt = min(TILE_PIXELS, total - r * TILE_PIXELS);
    for (var j0 = 0u; j0 < cnt; j0 += J) {
      let nj = min(J, cnt - j0);
      for (var jj = 0u; jj < nj; jj++) {
        let j = j0 + jj;
        let pos = total - 1u - r * TILE_PIXELS - j;
        var valid = inside && pos < last;
        var v = array<f32, 10>(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
        if (valid) {
          let xyt = sXY[j];
          let d = xyt.xy - pixf;
          let co = sCO[j];
          let power = -0.5 * (co.x * d.x * d.x + co.z * d.y * d.y) - co.y * d.x * d.y;
          // below the bound α < 1/255 for certain (as in the forward): skip the exp, same decision
          valid = power <= 0.0 && power >= xyt.z;
          var G = 0.0;
          if (valid) { G = exp(power); }
          let alpha = min(ALPHA_MAX, co.w * G);
          valid = valid && alpha >= ALPHA_MIN;
          if (valid) {
            T = T / (1.0 - alpha);
            let cd = sCD[j];
            let w = alpha * T;
            accC = lastAlpha * lastC + (1.0 - lastAlpha) * accC;
            lastC = cd.xyz;
            var dLda = dot(cd.xyz - accC, dC);
            accD = lastAlpha * lastD + (1.0 - lastAlpha) * accD;
            lastD = cd.w;
            dLda += (cd.w - accD) * dD;
            accA = lastAlpha + (1.0 - lastAlpha) * accA;
            dLda += (1.0 - accA) * dA;
            dLda *= T;
            lastAlpha = alpha;
            dLda += (-Tfinal / (1.0 - alpha)) * bgDot;
            let dLdG = co.w * dLda;
            let gdx = G * d.x;
            let gdy = G * d.y;
            v[0] = dLdG * (-gdx * co.x - gdy * co.y);
            v[1] = dLdG * (-gdy * co.z - gdx * co.y);
            v[2] = -0.5 * gdx * d.x * dLdG;
            v[3] = -gdx * d.y * dLdG;
            v[4] = -0.5 * gdy * d.y * dLdG;
            v[5] = G * dLda;
            v[6] = w * dC.x;
            v[7] = w * dC.y;
            v[8] = w * dC.z;
            v[9] = w * dD;
          }
        }${reduce}
      }
      // the chunk's Gaussians: each one's 10 sums over the S partials, in index order, to the pair's slot
      workgroupBarrier();
      for (var t = li; t < nj * 10u; t += TILE_PIXELS) {
        let q = t / 10u;
        let k = t - 10u * q;
        var s = 0.0;
        for (var i = 0u; i < nsg; i++) { s += sPart[(q * S + i) * 10u + k]; }
        part[10u * sSlot[j0 + q] + k] = s;
      }
      workgroupBarrier();
    }
  }
}`;
}

/** Per Gaussian: chain the screen-space gradients back to means, scales, rotations, opacities, colours or SH. */
export const PREPROCESS_BACKWARD = /* wgsl */ `
@group(0) @binding(0) var<storage, read> gs: array<vec4f>;
@group(0) @binding(1) var<storage, read> feat: array<f32>;
@group(0) @binding(2) var<storage, read> part: array<vec2f>;
@group(0) @binding(3) var<storage, read_write> dMeans: array<f32>;
@group(0) @binding(4) var<storage, read_write> dScales: array<f32>;
@group(0) @binding(5) var<storage, read_write> dRots: array<vec4f>;
@group(0) @binding(6) var<storage, read_write> dOpac: array<f32>;
@group(0) @binding(7) var<storage, read_write> dFeat: array<f32>;
${view(8)}
${COMMON}
${RASTER}
${PLANES}
${GRID_INDEX}
fn store3(i: u32, v: vec3f, which: u32) {
  if (which == 0u) { dMeans[3u * i] = v.x; dMeans[3u * i + 1u] = v.y; dMeans[3u * i + 2u] = v.z; }
  else { dScales[3u * i] = v.x; dScales[3u * i + 1u] = v.y; dScales[3u * i + 2u] = v.z; }
}
fn storeFeat(i: u32, v: vec3f) { dFeat[3u * i] = v.x; dFeat[3u * i + 1u] = v.y; dFeat[3u * i + 2u] = v.z; }
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = gridIndex(wg, nwg, li, 256u);
  if (i >= fr.n) { return; }
  let nf = select(fr.shK, 1u, fr.mode == 0u);
  if (radiusOf(i) <= 0) {
    store3(i, vec3f(0.0), 0u);
    store3(i, vec3f(0.0), 1u);
    dRots[i] = vec4f(0.0);
    dOpac[i] = 0.0;
    for (var k = 0u; k < nf; k++) { storeFeat(i * nf + k, vec3f(0.0)); }
    return;
  }
  // The screen-space gradients: the sum of the Gaussian's pairs, in emission order (see the blend backward).
  let sp = spanOf(i);
  var gA = vec4f(0.0);
  var gB = vec4f(0.0);
  var gC = vec2f(0.0);
  for (var s = sp.x; s < sp.y; s++) {
    gA += vec4f(part[5u * s], part[5u * s + 1u]);
    gB += vec4f(part[5u * s + 2u], part[5u * s + 3u]);
    gC += part[5u * s + 4u];
  }
  dOpac[i] = gB.y;
  let p = gs[at(MEAN, i)].xyz;
  let t = viewPoint(p);
  let W0 = c.r0.xyz;
  let W1 = c.r1.xyz;
  let W2 = c.r2.xyz;
  // 2D mean and depth → view space.
  let pw = 1.0 / (t.z + 0.0000001);
  let hw = 0.5 * c.fov.z;
  let hh = 0.5 * c.fov.w;
  let gx = gA.x;
  let gy = gA.y;
  var gt = vec3f(hw * c.proj.x * pw * gx, hh * c.proj.z * pw * gy,
    hw * (c.proj.y * pw - (c.proj.x * t.x + c.proj.y * t.z) * pw * pw) * gx +
    hh * (c.proj.w * pw - (c.proj.z * t.y + c.proj.w * t.z) * pw * pw) * gy + gC.y);
  // Conic → 2D covariance: dC = −Q dQ Q.
  let co = gs[at(CONIC, i)];
  let Q = mat2x2f(co.x, co.y, co.y, co.z);
  let dQ = mat2x2f(gA.z, 0.5 * gA.w, 0.5 * gA.w, gB.x);
  let dC = (Q * dQ * Q) * -1.0;
  // Recompute Σ, J, Tm.
  let q = gs[at(ROT, i)];
  let Rq = quatMat(q);
  let s = gs[at(SCALE, i)].xyz;
  let M = scaledRotation(Rq, s);
  let Sigma = M * transpose(M);
  let jac = projJacobian(t);
  let tm0 = jac.tm0;
  let tm1 = jac.tm1;
  let txc = jac.txc;
  let tyc = jac.tyc;
  let mulx = jac.mul.x;
  let muly = jac.mul.y;
  let fx = c.intr.x;
  let fy = c.intr.y;
  // dΣ = Tmᵀ dC Tm (dC symmetric: entries a, b, c).
  let da = dC[0][0];
  let db = dC[0][1];
  let dc = dC[1][1];
  let dSigma = da * outer(tm0, tm0) + db * (outer(tm0, tm1) + outer(tm1, tm0)) + dc * outer(tm1, tm1);
  // dTm = 2 dC Tm Σ (rows).
  let st0 = Sigma * tm0;
  let st1 = Sigma * tm1;
  let dtm0 = 2.0 * (da * st0 + db * st1);
  let dtm1 = 2.0 * (db * st0 + dc * st1);
  // Tm rows: tm0 = j00 W0 + j02 W2, tm1 = j11 W1 + j12 W2.
  let dj00 = dot(dtm0, W0);
  let dj02 = dot(dtm0, W2);
  let dj11 = dot(dtm1, W1);
  let dj12 = dot(dtm1, W2);
  let tz2 = 1.0 / (t.z * t.z);
  let tz3 = tz2 / t.z;
  gt.x += mulx * (-fx * tz2 * dj02);
  gt.y += muly * (-fy * tz2 * dj12);
  gt.z += -fx * tz2 * dj00 - fy * tz2 * dj11 + 2.0 * fx * txc * tz3 * dj02 + 2.0 * fy * tyc * tz3 * dj12;
  var gm = gt.x * W0 + gt.y * W1 + gt.z * W2;
  // Σ = M Mᵀ: dM = (dΣ + dΣᵀ) M; M = Rq diag(s).
  let dM = (dSigma + transpose(dSigma)) * M;
  store3(i, vec3f(dot(dM[0], Rq[0]), dot(dM[1], Rq[1]), dot(dM[2], Rq[2])), 1u);
  let dR = mat3x3f(dM[0] * s.x, dM[1] * s.y, dM[2] * s.z);
  // dR[col][row]; the reference's dR[3r + c] is dR[c][r] here.
  let r = q.x; let x = q.y; let y = q.z; let z = q.w;
  let d01 = dR[1][0]; let d02 = dR[2][0]; let d10 = dR[0][1]; let d12 = dR[2][1]; let d20 = dR[0][2]; let d21 = dR[1][2];
  let d00 = dR[0][0]; let d11 = dR[1][1]; let d22 = dR[2][2];
  dRots[i] = 2.0 * vec4f(
    -z * d01 + y * d02 + z * d10 - x * d12 - y * d20 + x * d21,
    y * d01 + z * d02 + y * d10 - 2.0 * x * d11 - r * d12 + z * d20 + r * d21 - 2.0 * x * d22,
    -2.0 * y * d00 + x * d01 + r * d02 + x * d10 + z * d12 - r * d20 + z * d21 - 2.0 * y * d22,
    -2.0 * z * d00 - r * d01 + x * d02 + r * d10 - 2.0 * z * d11 + y * d12 + x * d20 + y * d21);
  // Colours.
  let bits = bitcast<u32>(gs[at(RGBC, i)].w);
  let gc = select(vec3f(gB.z, gB.w, gC.x), vec3f(0.0), vec3<bool>((bits & 1u) != 0u, (bits & 2u) != 0u, (bits & 4u) != 0u));
  if (fr.mode == 0u) {
    storeFeat(i, gc);
  } else {
    let dv = p - c.campos.xyz;
    let len = length(dv);
    let dir = dv / len;
    let nb = (fr.shDeg + 1u) * (fr.shDeg + 1u);
    var ddir = vec3f(0.0);
    for (var k = 0u; k < fr.shK; k++) {
      if (k < nb) {
        let sh = shTerm(k, dir);
        storeFeat(i * fr.shK + k, sh.x * gc);
        ddir += dot(loadV3(&feat, i * fr.shK + k), gc) * sh.yzw;
      } else {
        storeFeat(i * fr.shK + k, vec3f(0.0));
      }
    }
    gm += (ddir - dir * dot(dir, ddir)) / len;
  }
  store3(i, gm, 0u);
}
fn outer(a: vec3f, b: vec3f) -> mat3x3f { return mat3x3f(a * b.x, a * b.y, a * b.z); }
`;
