/**
 * The float64 reference rasterizer: the same semantics as the GPU one (tiles, culling, thresholds, depth order),
 * written as a plain per-pixel loop over depth-sorted Gaussians, with its analytic backward. Small scenes only.
 *
 * Semantics (standard 3DGS with depth and alpha outputs):
 * - cull at view depth ≤ 0.2; Σ = R S Sᵀ Rᵀ from the (unnormalised) quaternion wxyz and the scales;
 * - EWA: t = view position with x/z, y/z clamped to ±1.3·tan(fov); J = [[fx/z, 0, −fx·x/z²], [0, fy/z, −fy·y/z²]];
 *   cov2D = J W Σ Wᵀ Jᵀ + 0.3·I; conic = cov2D⁻¹; radius = ⌈3·√λmax⌉ (λ = mid ± √max(0.1, mid² − det));
 * - pixel centre: pix = ((ndc + 1)·W − 1)/2 with ndc = (P00·x + P02·z)/(z + 1e-7); tile rect from the radius;
 * - per pixel, front to back: power = −½(a dx² + c dy²) − b dx dy (skip if > 0); α = min(0.99, o·e^power)
 *   (skip if < 1/255); stop before a Gaussian that would take T below 1e-4;
 *   C = Σ c α T + T·bg, D = Σ z α T, A = Σ α T.
 * - The backward treats the 0.99 clamp as the identity (as standard 3DGS does) and passes no gradient through
 *   the clamped components of t.
 */
import { deriveCamera, type Camera, type CameraDerived } from './camera.js';
import { ALPHA_MAX, ALPHA_MIN, DILATION, NEAR, RADIUS_SIGMAS, T_MIN, TILE } from './constants.js';
import { shLayout, type SplatScene } from './scene.js';
import { shBasis, shBasisGrad } from './sh.js';

export type { SplatScene };

export interface SplatImages {
  /** 3×H×W */
  color: Float64Array;
  /** 1×H×W, Σ z α T */
  depth: Float64Array;
  /** 1×H×W, Σ α T */
  alpha: Float64Array;
  /** Per Gaussian screen radius in pixels (0: not drawn). */
  radii: Int32Array;
}

export interface SplatGrads {
  means: Float64Array;
  scales: Float64Array;
  rotations: Float64Array;
  opacities: Float64Array;
  /** N×3 when the scene has colours, N×K×3 when it has SH. */
  colors: Float64Array;
}

export { ALPHA_MAX, ALPHA_MIN, NEAR, T_MIN };

/** Everything the rasterizer derives per Gaussian. */
export interface Projected {
  radius: number;
  px: number;
  py: number;
  depth: number;
  conic: [number, number, number];
  rgb: [number, number, number];
  clamped: [boolean, boolean, boolean];
  rect: [number, number, number, number];
}

function quatToMat(r: number, x: number, y: number, z: number): number[] {
  return [
    1 - 2 * (y * y + z * z),
    2 * (x * y - r * z),
    2 * (x * z + r * y),
    2 * (x * y + r * z),
    1 - 2 * (x * x + z * z),
    2 * (y * z - r * x),
    2 * (x * z - r * y),
    2 * (y * z + r * x),
    1 - 2 * (x * x + y * y),
  ];
}

/** Intermediate quantities of one Gaussian's projection (shared by forward and backward). */
interface Geo {
  t: number[];
  txc: number;
  tyc: number;
  mulx: number;
  muly: number;
  Rq: number[];
  M: number[];
  Sigma: number[];
  J: number[];
  Tm: number[];
  a: number;
  b: number;
  c: number;
  det: number;
}

function geometry(s: SplatScene, cam: CameraDerived, i: number): Geo | null {
  const R = cam.R;
  const p = [s.means[3 * i]!, s.means[3 * i + 1]!, s.means[3 * i + 2]!];
  const t = [0, 1, 2].map((r) => R[3 * r]! * p[0]! + R[3 * r + 1]! * p[1]! + R[3 * r + 2]! * p[2]! + cam.T[r]!);
  if (t[2]! <= NEAR) return null;
  const q = [0, 1, 2, 3].map((k) => s.rotations[4 * i + k]!);
  const Rq = quatToMat(q[0]!, q[1]!, q[2]!, q[3]!);
  const sc = [0, 1, 2].map((k) => s.scales[3 * i + k]!);
  const M = Rq.map((v, k) => v * sc[k % 3]!);
  const Sigma = new Array<number>(9);
  for (let r = 0; r < 3; r++)
    for (let c = 0; c < 3; c++)
      Sigma[3 * r + c] = M[3 * r]! * M[3 * c]! + M[3 * r + 1]! * M[3 * c + 1]! + M[3 * r + 2]! * M[3 * c + 2]!;
  const limx = 1.3 * cam.tanfovx;
  const limy = 1.3 * cam.tanfovy;
  const tz = t[2]!;
  const txtz = t[0]! / tz;
  const tytz = t[1]! / tz;
  const txc = Math.min(limx, Math.max(-limx, txtz)) * tz;
  const tyc = Math.min(limy, Math.max(-limy, tytz)) * tz;
  const mulx = txtz < -limx || txtz > limx ? 0 : 1;
  const muly = tytz < -limy || tytz > limy ? 0 : 1;
  const J = [cam.fx / tz, 0, (-cam.fx * txc) / (tz * tz), 0, cam.fy / tz, (-cam.fy * tyc) / (tz * tz)];
  // Tm = J W (2×3), W = R.
  const Tm = new Array<number>(6);
  for (let r = 0; r < 2; r++)
    for (let c = 0; c < 3; c++)
      Tm[3 * r + c] = J[3 * r]! * R[c]! + J[3 * r + 1]! * R[3 + c]! + J[3 * r + 2]! * R[6 + c]!;
  const cov = [0, 0, 0, 0];
  for (let r = 0; r < 2; r++) {
    for (let c = 0; c < 2; c++) {
      let v = 0;
      for (let k = 0; k < 3; k++) for (let l = 0; l < 3; l++) v += Tm[3 * r + k]! * Sigma[3 * k + l]! * Tm[3 * c + l]!;
      cov[2 * r + c] = v;
    }
  }
  const a = cov[0]! + DILATION;
  const b = cov[1]!;
  const c = cov[3]! + DILATION;
  return { t, txc, tyc, mulx, muly, Rq, M, Sigma, J, Tm, a, b, c, det: a * c - b * b };
}

function viewDir(s: SplatScene, cam: CameraDerived, i: number): { dir: number[]; len: number } {
  const d = [0, 1, 2].map((k) => s.means[3 * i + k]! - cam.campos[k]!);
  const len = Math.hypot(d[0]!, d[1]!, d[2]!);
  return { dir: d.map((v) => v / len), len };
}

export function project(s: SplatScene, cam: CameraDerived, i: number): Projected | null {
  const g = geometry(s, cam, i);
  if (!g || g.det === 0) return null;
  const inv = 1 / g.det;
  const conic: [number, number, number] = [g.c * inv, -g.b * inv, g.a * inv];
  const mid = 0.5 * (g.a + g.c);
  const l1 = mid + Math.sqrt(Math.max(0.1, mid * mid - g.det));
  const l2 = mid - Math.sqrt(Math.max(0.1, mid * mid - g.det));
  const radius = Math.ceil(RADIUS_SIGMAS * Math.sqrt(Math.max(l1, l2)));
  const [tx, , tz] = g.t;
  const pw = 1 / (tz! + 1e-7);
  const ndcx = (cam.P00 * tx! + cam.P02 * tz!) * pw;
  const ndcy = (cam.P11 * g.t[1]! + cam.P12 * tz!) * pw;
  const px = ((ndcx + 1) * cam.width - 1) * 0.5;
  const py = ((ndcy + 1) * cam.height - 1) * 0.5;
  const rect = tileRect(px, py, radius, cam.tilesX, cam.tilesY);
  if ((rect[2] - rect[0]) * (rect[3] - rect[1]) === 0) return null;
  let rgb: [number, number, number];
  const clamped: [boolean, boolean, boolean] = [false, false, false];
  const lay = shLayout(s);
  if (lay) {
    const { dir } = viewDir(s, cam, i);
    const basis = shBasis(lay.degree, dir[0]!, dir[1]!, dir[2]!);
    rgb = [0, 0, 0];
    for (let ch = 0; ch < 3; ch++) {
      let v = 0.5;
      for (let k = 0; k < basis.length; k++) v += basis[k]! * s.sh![(i * lay.K + k) * 3 + ch]!;
      clamped[ch] = v < 0;
      rgb[ch] = Math.max(v, 0);
    }
  } else {
    if (!s.colors) throw new Error('scene needs colors or sh');
    rgb = [s.colors[3 * i]!, s.colors[3 * i + 1]!, s.colors[3 * i + 2]!];
  }
  return { radius, px, py, depth: tz!, conic, rgb, clamped, rect };
}

/** Tile rectangle [x0, y0, x1, y1) touched by a disc, clamped to the grid (C-style truncation as in 3DGS). */
export function tileRect(px: number, py: number, r: number, tx: number, ty: number): [number, number, number, number] {
  const cl = (v: number, hi: number) => Math.min(hi, Math.max(0, Math.trunc(v)));
  return [
    cl((px - r) / TILE, tx),
    cl((py - r) / TILE, ty),
    cl((px + r + TILE - 1) / TILE, tx),
    cl((py + r + TILE - 1) / TILE, ty),
  ];
}

interface Prepared {
  cam: CameraDerived;
  proj: (Projected | null)[];
  /** Per tile, the Gaussians touching it in (depth, index) order. */
  lists: number[][];
}

function prepare(s: SplatScene, camera: Camera): Prepared {
  const cam = deriveCamera(camera);
  const proj = Array.from({ length: s.count }, (_, i) => project(s, cam, i));
  const order = proj
    .map((p, i) => (p ? i : -1))
    .filter((i) => i >= 0)
    .sort((i, j) => proj[i]!.depth - proj[j]!.depth || i - j);
  const lists: number[][] = Array.from({ length: cam.tilesX * cam.tilesY }, () => []);
  for (const i of order) {
    const [x0, y0, x1, y1] = proj[i]!.rect;
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) lists[y * cam.tilesX + x]!.push(i);
  }
  return { cam, proj, lists };
}

function evalPixel(
  p: Projected,
  o: number,
  x: number,
  y: number,
): { alpha: number; G: number; dx: number; dy: number } | null {
  const dx = p.px - x;
  const dy = p.py - y;
  const [ca, cb, cc] = p.conic;
  const power = -0.5 * (ca * dx * dx + cc * dy * dy) - cb * dx * dy;
  if (power > 0) return null;
  const G = Math.exp(power);
  const alpha = Math.min(ALPHA_MAX, o * G);
  if (alpha < ALPHA_MIN) return null;
  return { alpha, G, dx, dy };
}

export function referenceForward(
  s: SplatScene,
  camera: Camera,
  background: ArrayLike<number> = [0, 0, 0],
): SplatImages {
  const { cam, proj, lists } = prepare(s, camera);
  const { width: W, height: H } = cam;
  const color = new Float64Array(3 * W * H);
  const depth = new Float64Array(W * H);
  const alpha = new Float64Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const list = lists[Math.floor(y / TILE) * cam.tilesX + Math.floor(x / TILE)]!;
      let T = 1;
      const C = [0, 0, 0];
      let D = 0;
      let A = 0;
      for (const i of list) {
        const p = proj[i]!;
        const e = evalPixel(p, s.opacities[i]!, x, y);
        if (!e) continue;
        const testT = T * (1 - e.alpha);
        if (testT < T_MIN) break;
        for (let ch = 0; ch < 3; ch++) C[ch] += p.rgb[ch]! * e.alpha * T;
        D += p.depth * e.alpha * T;
        A += e.alpha * T;
        T = testT;
      }
      const pix = y * W + x;
      for (let ch = 0; ch < 3; ch++) color[ch * W * H + pix] = C[ch]! + T * background[ch]!;
      depth[pix] = D;
      alpha[pix] = A;
    }
  }
  const radii = Int32Array.from(proj, (p) => (p ? p.radius : 0));
  return { color, depth, alpha, radii };
}

/** Gradients of ⟨dColor, color⟩ + ⟨dDepth, depth⟩ + ⟨dAlpha, alpha⟩ with respect to the scene's inputs. */
export function referenceBackward(
  s: SplatScene,
  camera: Camera,
  background: ArrayLike<number>,
  dColor: ArrayLike<number> | null,
  dDepth: ArrayLike<number> | null,
  dAlpha: ArrayLike<number> | null,
): SplatGrads {
  const { cam, proj, lists } = prepare(s, camera);
  const { width: W, height: H } = cam;
  const n = s.count;
  // Per-Gaussian screen-space gradients: pixel mean (2), conic (3, true partials), opacity, colour (3), depth.
  const g2 = new Float64Array(n * 10);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const pix = y * W + x;
      const list = lists[Math.floor(y / TILE) * cam.tilesX + Math.floor(x / TILE)]!;
      // Forward pass over this pixel, remembering the contributors.
      const used: { i: number; alpha: number; G: number; dx: number; dy: number; T: number }[] = [];
      let T = 1;
      for (const i of list) {
        const e = evalPixel(proj[i]!, s.opacities[i]!, x, y);
        if (!e) continue;
        const testT = T * (1 - e.alpha);
        if (testT < T_MIN) break;
        used.push({ i, ...e, T });
        T = testT;
      }
      const Tfinal = T;
      const dC = [0, 1, 2].map((ch) => (dColor ? dColor[ch * W * H + pix]! : 0));
      const dD = dDepth ? dDepth[pix]! : 0;
      const dA = dAlpha ? dAlpha[pix]! : 0;
      const bgDot = dC[0]! * background[0]! + dC[1]! * background[1]! + dC[2]! * background[2]!;
      // Back to front: suffix sums S_c = Σ_{j>k} c_j α_j T_j / T_{k+1}, as exact sums (not the division recurrence).
      const accC = [0, 0, 0];
      let accD = 0;
      let accA = 0;
      let lastAlpha = 0;
      const lastC = [0, 0, 0];
      let lastD = 0;
      for (let u = used.length - 1; u >= 0; u--) {
        const { i, alpha, G, dx, dy, T: Tk } = used[u]!;
        const p = proj[i]!;
        let dLdalpha = 0;
        for (let ch = 0; ch < 3; ch++) {
          accC[ch] = lastAlpha * lastC[ch]! + (1 - lastAlpha) * accC[ch]!;
          lastC[ch] = p.rgb[ch]!;
          dLdalpha += (p.rgb[ch]! - accC[ch]!) * dC[ch]!;
          g2[10 * i + 6 + ch] += alpha * Tk * dC[ch]!;
        }
        accD = lastAlpha * lastD + (1 - lastAlpha) * accD;
        lastD = p.depth;
        dLdalpha += (p.depth - accD) * dD;
        g2[10 * i + 9] += alpha * Tk * dD;
        accA = lastAlpha + (1 - lastAlpha) * accA;
        dLdalpha += (1 - accA) * dA;
        dLdalpha *= Tk;
        lastAlpha = alpha;
        dLdalpha += (-Tfinal / (1 - alpha)) * bgDot;
        const o = s.opacities[i]!;
        const dLdG = o * dLdalpha;
        const [ca, cb, cc] = p.conic;
        const gdx = G * dx;
        const gdy = G * dy;
        g2[10 * i] += dLdG * (-gdx * ca - gdy * cb);
        g2[10 * i + 1] += dLdG * (-gdy * cc - gdx * cb);
        g2[10 * i + 2] += -0.5 * gdx * dx * dLdG;
        g2[10 * i + 3] += -gdx * dy * dLdG;
        g2[10 * i + 4] += -0.5 * gdy * dy * dLdG;
        g2[10 * i + 5] += G * dLdalpha;
      }
    }
  }
  return backwardPreprocess(s, cam, proj, g2);
}

/** Chain per-Gaussian screen-space gradients (10 per Gaussian) back to the scene's inputs. */
export function backwardPreprocess(
  s: SplatScene,
  cam: CameraDerived,
  proj: (Projected | null)[],
  g2: ArrayLike<number>,
): SplatGrads {
  const n = s.count;
  const lay = shLayout(s);
  const out: SplatGrads = {
    means: new Float64Array(3 * n),
    scales: new Float64Array(3 * n),
    rotations: new Float64Array(4 * n),
    opacities: new Float64Array(n),
    colors: new Float64Array(lay ? n * lay.K * 3 : 3 * n),
  };
  const R = cam.R;
  for (let i = 0; i < n; i++) {
    const p = proj[i];
    if (!p) continue;
    const g = geometry(s, cam, i)!;
    const G = (k: number) => g2[10 * i + k]!;
    out.opacities[i] = G(5);
    // 2D mean and depth → view-space t.
    const [tx, ty, tz] = g.t as [number, number, number];
    const pw = 1 / (tz + 1e-7);
    const hw = 0.5 * cam.width;
    const hh = 0.5 * cam.height;
    const gt = [
      hw * cam.P00 * pw * G(0),
      hh * cam.P11 * pw * G(1),
      hw * (cam.P02 * pw - (cam.P00 * tx + cam.P02 * tz) * pw * pw) * G(0) +
        hh * (cam.P12 * pw - (cam.P11 * ty + cam.P12 * tz) * pw * pw) * G(1) +
        G(9),
    ];
    // Conic → 2D covariance: dC = −Q dQ Q with dQ the symmetric matrix of the conic partials.
    const [qa, qb, qc] = p.conic;
    const Q = [qa, qb, qb, qc];
    const dQ = [G(2), 0.5 * G(3), 0.5 * G(3), G(4)];
    const QdQ = mul2(Q, dQ);
    const dC = mul2(QdQ, Q).map((v) => -v);
    // cov = Tm Σ Tmᵀ: dΣ = Tmᵀ dC Tm; dTm = 2 dC Tm Σ.
    const Tm = g.Tm;
    const dSigma = new Array<number>(9).fill(0);
    for (let k = 0; k < 3; k++)
      for (let l = 0; l < 3; l++) {
        let v = 0;
        for (let r = 0; r < 2; r++) for (let c = 0; c < 2; c++) v += Tm[3 * r + k]! * dC[2 * r + c]! * Tm[3 * c + l]!;
        dSigma[3 * k + l] = v;
      }
    const dTm = new Array<number>(6).fill(0);
    for (let r = 0; r < 2; r++)
      for (let l = 0; l < 3; l++) {
        let v = 0;
        for (let c = 0; c < 2; c++)
          for (let k = 0; k < 3; k++) v += dC[2 * r + c]! * Tm[3 * c + k]! * g.Sigma[3 * k + l]!;
        dTm[3 * r + l] = 2 * v;
      }
    // Tm = J W → dJ = dTm Wᵀ.
    const dJ = new Array<number>(6).fill(0);
    for (let r = 0; r < 2; r++)
      for (let k = 0; k < 3; k++)
        dJ[3 * r + k] = dTm[3 * r]! * R[3 * k]! + dTm[3 * r + 1]! * R[3 * k + 1]! + dTm[3 * r + 2]! * R[3 * k + 2]!;
    const tz2 = 1 / (tz * tz);
    const tz3 = tz2 / tz;
    gt[0] += g.mulx * (-cam.fx * tz2 * dJ[2]!);
    gt[1] += g.muly * (-cam.fy * tz2 * dJ[5]!);
    gt[2] +=
      -cam.fx * tz2 * dJ[0]! -
      cam.fy * tz2 * dJ[4]! +
      2 * cam.fx * g.txc * tz3 * dJ[2]! +
      2 * cam.fy * g.tyc * tz3 * dJ[5]!;
    const gm = [0, 1, 2].map((k) => R[k]! * gt[0]! + R[3 + k]! * gt[1]! + R[6 + k]! * gt[2]!);
    // Σ = M Mᵀ, M = Rq diag(s).
    const dM = new Array<number>(9).fill(0);
    for (let r = 0; r < 3; r++)
      for (let c = 0; c < 3; c++) {
        let v = 0;
        for (let k = 0; k < 3; k++) v += (dSigma[3 * r + k]! + dSigma[3 * k + r]!) * g.M[3 * k + c]!;
        dM[3 * r + c] = v;
      }
    const sc = [0, 1, 2].map((k) => s.scales[3 * i + k]!);
    for (let c = 0; c < 3; c++)
      out.scales[3 * i + c] = dM[c]! * g.Rq[c]! + dM[3 + c]! * g.Rq[3 + c]! + dM[6 + c]! * g.Rq[6 + c]!;
    const dR = dM.map((v, k) => v * sc[k % 3]!);
    const [qr, qx, qy, qz] = [0, 1, 2, 3].map((k) => s.rotations[4 * i + k]!) as [number, number, number, number];
    out.rotations[4 * i] = 2 * (-qz * dR[1]! + qy * dR[2]! + qz * dR[3]! - qx * dR[5]! - qy * dR[6]! + qx * dR[7]!);
    out.rotations[4 * i + 1] =
      2 *
      (qy * dR[1]! +
        qz * dR[2]! +
        qy * dR[3]! -
        2 * qx * dR[4]! -
        qr * dR[5]! +
        qz * dR[6]! +
        qr * dR[7]! -
        2 * qx * dR[8]!);
    out.rotations[4 * i + 2] =
      2 *
      (-2 * qy * dR[0]! +
        qx * dR[1]! +
        qr * dR[2]! +
        qx * dR[3]! +
        qz * dR[5]! -
        qr * dR[6]! +
        qz * dR[7]! -
        2 * qy * dR[8]!);
    out.rotations[4 * i + 3] =
      2 *
      (-2 * qz * dR[0]! -
        qr * dR[1]! +
        qx * dR[2]! +
        qr * dR[3]! -
        2 * qz * dR[4]! +
        qy * dR[5]! +
        qx * dR[6]! +
        qy * dR[7]!);
    // Colours.
    const gc = [G(6), G(7), G(8)].map((v, ch) => (p.clamped[ch] ? 0 : v));
    if (lay) {
      const { dir, len } = viewDir(s, cam, i);
      const basis = shBasis(lay.degree, dir[0]!, dir[1]!, dir[2]!);
      const bgrad = shBasisGrad(lay.degree, dir[0]!, dir[1]!, dir[2]!);
      const ddir = [0, 0, 0];
      for (let k = 0; k < basis.length; k++) {
        let w = 0;
        for (let ch = 0; ch < 3; ch++) {
          out.colors[(i * lay.K + k) * 3 + ch] = basis[k]! * gc[ch]!;
          w += s.sh![(i * lay.K + k) * 3 + ch]! * gc[ch]!;
        }
        for (let a = 0; a < 3; a++) ddir[a] += w * bgrad[k]![a]!;
      }
      const dd = ddir[0]! * dir[0]! + ddir[1]! * dir[1]! + ddir[2]! * dir[2]!;
      for (let a = 0; a < 3; a++) gm[a] += (ddir[a]! - dir[a]! * dd) / len;
    } else {
      for (let ch = 0; ch < 3; ch++) out.colors[3 * i + ch] = gc[ch]!;
    }
    for (let a = 0; a < 3; a++) out.means[3 * i + a] = gm[a]!;
  }
  return out;
}

function mul2(A: number[], B: number[]): number[] {
  return [
    A[0]! * B[0]! + A[1]! * B[2]!,
    A[0]! * B[1]! + A[1]! * B[3]!,
    A[2]! * B[0]! + A[3]! * B[2]!,
    A[2]! * B[1]! + A[3]! * B[3]!,
  ];
}
