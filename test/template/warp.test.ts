import { describe, expect, it } from 'vitest';
import type { Camera } from '../../src/data/camera.js';
import { Rng, sampleRays, type TemplateScene, type TemplateView } from '../../src/prep/template/fit.js';
import { InverseWarp } from '../../src/prep/template/warp.js';

/** A table without root finding: the given box, dims and canonical points. */
function table(box: number[], dims: [number, number, number], rng: Rng): InverseWarp {
  const w = Object.create(InverseWarp.prototype) as InverseWarp;
  const canonical = new Float32Array(dims[0] * dims[1] * dims[2] * 3);
  for (let i = 0; i < canonical.length; i++) canonical[i] = rng.next() * 2 - 1;
  Object.assign(w, { box: Float64Array.from(box), dims, canonical, converged: 1 });
  return w;
}

/** The straightforward trilinear blend (arrays per call), the lookup's reference. */
function lookupRef(w: InverseWarp, p: number[], out: Float64Array, at: number): void {
  const [nx, ny, nz] = w.dims;
  const b = w.box;
  const n = [nx, ny, nz];
  const i0 = [0, 0, 0],
    f = [0, 0, 0];
  for (let k = 0; k < 3; k++) {
    const g = ((p[k]! - b[k]!) / (b[3 + k]! - b[k]!)) * (n[k]! - 1);
    const c = Math.min(Math.max(g, 0), n[k]! - 1);
    i0[k] = Math.min(Math.floor(c), n[k]! - 2);
    f[k] = c - i0[k]!;
  }
  out[at] = out[at + 1] = out[at + 2] = 0;
  for (let c = 0; c < 8; c++) {
    const ox = c >> 2,
      oy = (c >> 1) & 1,
      oz = c & 1;
    const wt = (ox ? f[0]! : 1 - f[0]!) * (oy ? f[1]! : 1 - f[1]!) * (oz ? f[2]! : 1 - f[2]!);
    if (wt === 0) continue;
    const i = ((i0[0]! + ox) * ny + (i0[1]! + oy)) * nz + (i0[2]! + oz);
    for (let k = 0; k < 3; k++) out[at + k] += wt * w.canonical[3 * i + k]!;
  }
}

/** The per-sample reference of sampleRays (the same draws from the generator, in the same order). */
function sampleRaysRef(scene: TemplateScene, view: TemplateView, rays: number, samples: number, rng: Rng) {
  const { K, R, T, width: W } = view.camera;
  const nIn = view.outside.length ? Math.min(view.inside.length, Math.ceil(rays / 2)) : rays;
  const origin = [0, 1, 2].map((c) => -(R[c]! * T[0]! + R[3 + c]! * T[1]! + R[6 + c]! * T[2]!));
  const canonical = new Float64Array(rays * samples * 3);
  const delta = new Float64Array(rays * samples);
  const targetColor = new Float64Array(rays * 3);
  const targetMask = new Float64Array(rays);
  const box = scene.posedBox;
  for (let r = 0; r < rays; r++) {
    const list = r < nIn ? view.inside : view.outside;
    const pix = list[rng.int(list.length)]!;
    const px = pix % W,
      py = Math.floor(pix / W);
    for (let c = 0; c < 3; c++) targetColor[3 * r + c] = view.rgb[3 * pix + c]! / 255;
    targetMask[r] = view.mask[pix]! ? 1 : 0;
    const yc = (py - K[5]!) / K[4]!;
    const xc = (px - K[2]! - K[1]! * yc) / K[0]!;
    const d = [0, 1, 2].map((c) => R[c]! * xc + R[3 + c]! * yc + R[6 + c]!);
    const len = Math.hypot(d[0]!, d[1]!, d[2]!);
    for (let c = 0; c < 3; c++) d[c] = d[c]! / len;
    let near = 0,
      far = Infinity;
    for (let k = 0; k < 3; k++) {
      if (Math.abs(d[k]!) < 1e-12) {
        if (origin[k]! < box[k]! || origin[k]! > box[3 + k]!) far = -1;
        continue;
      }
      const ta = (box[k]! - origin[k]!) / d[k]!,
        tb = (box[3 + k]! - origin[k]!) / d[k]!;
      near = Math.max(near, Math.min(ta, tb));
      far = Math.min(far, Math.max(ta, tb));
    }
    const hit = far > near;
    const span = hit ? far - near : 0;
    let prev = 0;
    for (let s = 0; s < samples; s++) {
      const t = near + ((s + rng.next()) / samples) * span;
      const k = r * samples + s;
      if (s > 0) delta[k - 1] = t - prev;
      prev = t;
      lookupRef(
        scene.warp,
        [0, 1, 2].map((c) => origin[c]! + t * d[c]!),
        canonical,
        3 * k,
      );
    }
    delta[r * samples + samples - 1] = hit ? Math.max(0, far - prev) : 0;
  }
  return { rays, samples, canonical, delta, targetColor, targetMask };
}

describe('posed -> canonical table', () => {
  it('looks up as the straightforward trilinear blend, inside, on and outside the box', () => {
    const rng = new Rng(5);
    const w = table([-0.4, -0.9, -0.3, 0.5, 0.8, 0.35], [7, 11, 5], rng);
    const a = new Float64Array(6),
      b = new Float64Array(6);
    for (let n = 0; n < 2000; n++) {
      const p = [0, 1, 2].map((k) => w.box[k]! + (rng.next() * 1.4 - 0.2) * (w.box[3 + k]! - w.box[k]!));
      if (n % 7 === 0) p[n % 3] = w.box[n % 2 ? n % 3 : 3 + (n % 3)]!; // exactly on a wall
      w.lookup(p[0]!, p[1]!, p[2]!, a, 3);
      lookupRef(w, p, b, 3);
      expect(Array.from(a)).toEqual(Array.from(b));
    }
    // at the nodes, the nodes' points
    w.lookup(w.box[3]!, w.box[1]!, w.box[2]!, a);
    const i = 3 * 6 * 11 * 5;
    expect(Array.from(a.subarray(0, 3))).toEqual(Array.from(w.canonical.subarray(i, i + 3)));
  });

  it('sampleRays gives what the per-sample reference gives', () => {
    const rng = new Rng(9);
    const W = 37,
      H = 29;
    const a = 0.3;
    // a camera 3 m from the origin looking at it, rotated about y
    const R = [Math.cos(a), 0, -Math.sin(a), 0, 1, 0, Math.sin(a), 0, Math.cos(a)];
    const camera = { name: 'c', width: W, height: H, K: [40, 0.5, 18, 0, 41, 14, 0, 0, 1], R, T: [0.05, -0.1, 3] };
    const mask = new Uint8Array(W * H);
    const rgb = new Uint8Array(W * H * 3);
    for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 37) & 255;
    const inside: number[] = [],
      outside: number[] = [];
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const i = y * W + x;
        mask[i] = Math.hypot(x - 18, y - 14) < 8 ? 1 : 0;
        (mask[i] ? inside : outside).push(i);
      }
    const view: TemplateView = {
      camera: camera as unknown as Camera,
      rgb,
      mask,
      inside: Uint32Array.from(inside),
      outside: Uint32Array.from(outside),
    };
    const box = [-0.5, -0.6, -0.4, 0.45, 0.7, 0.5];
    const scene = { views: [view], warp: table(box, [9, 12, 8], rng), posedBox: Float64Array.from(box) };
    const r1 = new Rng(3),
      r2 = new Rng(3);
    for (let k = 0; k < 3; k++) {
      const got = sampleRays(scene as unknown as TemplateScene, view, 64, 17, r1);
      const ref = sampleRaysRef(scene as unknown as TemplateScene, view, 64, 17, r2);
      expect(got).toEqual(ref);
    }
    expect(r1.s).toEqual(r2.s);
  });
});
