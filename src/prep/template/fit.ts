/**
 * `animgs template`: fit the learned template of one near-A-pose frame (frame.ts picks it): a canonical SDF
 * and colour field rendered into every camera of the frame by VolSDF volume rendering, the posed samples mapped to
 * canonical space through the diffused weight volume; L1 colour + L1 mask + eikonal losses, Adam with the step
 * schedule; then marching cubes over the canonical box → `template.ply` with normals.
 *
 * Per step: one camera (a shuffled pass over the cameras per epoch), `rays` rays — half inside the mask, half
 * outside it within the projected posed box, the mask's boundary band excluded — `samples` stratified samples per
 * ray between the ray's entry into and exit from the posed box (SMPL-X box ± 0.15 m), mapped to canonical space
 * (warp.ts). The networks run on the GPU with the tensor engine's autograd; rendering, losses and their gradients run
 * on the GPU too (volume-render-gpu.ts, tested against the float64 volume-render.ts) and seed the backward pass, so a
 * step reads back only its losses and β's gradient, after all its work is queued. The eikonal term uses forward differences at
 * `eikonal_points` points (half ray samples, half uniform in the canonical box), so no second-order autograd is needed.
 * The next step's rays and points are drawn while the GPU runs the current one (before its readback is awaited);
 * what they draw depends on the generator alone, and a checkpoint stores the generator's state from before them.
 *
 * Checkpoints (`<net_ckpt_dir>/batch_<iteration>/`: template.safetensors, optim.safetensors, state.json; then
 * latest.json) are written by rename every `ckpt_interval.batch` steps, at the end and when stopped; `resume`
 * continues exactly (weights, Adam's moments, β, the sample stream).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canoToLive } from '../../body/canonical.js';
import { loadSmplxModel } from '../../body/node/files.js';
import type { SmplxModel } from '../../body/model.js';
import { CaptureDataset } from '../../data/dataset.js';
import type { Camera } from '../../data/camera.js';
import { InputError } from '../../io/errors.js';
import { loadSafetensors, saveSafetensors } from '../../io/node/safetensors.js';
import { Adam } from '../../nn/optim.js';
import {
  add,
  backward,
  beginScope,
  concat,
  initEngine,
  gpu,
  mul,
  noGrad,
  scope,
  slice,
  sum,
  Tensor,
} from '../../tensor/index.js';
import { smplxCanonicalMesh } from '../template.js';
import type { TemplateConfig } from './config.js';
import { pickTemplateFrame } from './frame.js';
import { pointBounds } from './geometry.js';
import { keepBody, type Cleaned } from './components.js';
import { extractIsosurface } from './marching.js';
import { encodePoints, TemplateNet } from './sdf-net.js';
import { writeTemplatePly } from './template-mesh.js';
import { eikonalGpu, rayLosses, renderRaysGpu } from './volume-render-gpu.js';
import { diffuseWeightsParallel, type WeightVolume } from './weight-volume.js';
import { readWeightVolume, writeWeightVolume } from './volume-file.js';
import { InverseWarp } from './warp.js';
import { planarToInterleaved8 } from '../../io/image.js';

export const BETA_MIN = 1e-4;
export const BETA_INIT = 0.01;
const FORMAT = 'animgs-template-1';

/** A small seeded generator (xorshift128) whose state a checkpoint stores. */
export class Rng {
  s: [number, number, number, number];
  constructor(seed: number) {
    let x = (seed | 0) ^ 0x9e3779b9;
    const next = () => {
      x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
      x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
      return (x ^= x >>> 16) >>> 0;
    };
    this.s = [next() || 1, next(), next(), next()];
  }
  next(): number {
    const s = this.s;
    let t = s[3];
    const u = s[0];
    s[3] = s[2];
    s[2] = s[1];
    s[1] = u;
    t ^= t << 11;
    t ^= t >>> 8;
    s[0] = (t ^ u ^ (u >>> 19)) >>> 0;
    return s[0] / 4294967296;
  }
  int(n: number): number {
    return Math.min(n - 1, Math.floor(this.next() * n));
  }
}

export interface TemplateView {
  camera: Camera;
  /** (H·W·3) RGB bytes on black. */
  rgb: Uint8Array;
  /** (H·W) 0/1. */
  mask: Uint8Array;
  /** Pixels inside the mask and outside it within the projected posed box (boundary band excluded). */
  inside: Uint32Array;
  outside: Uint32Array;
}

export interface TemplateScene {
  views: TemplateView[];
  warp: InverseWarp;
  /** Posed box [min, max] (near/far of the rays). */
  posedBox: Float64Array;
  /** Canonical box [min, max] (eikonal points, marching cubes). */
  canoBox: Float64Array;
  /** Centre of the canonical body's AABB (the encoding's origin). */
  canoCenter: Float64Array;
  volume: WeightVolume;
  /** The fitted frame (frame.ts picks it). */
  frame: number;
}

export interface StepLosses {
  color: number;
  mask: number;
  eikonal: number;
  total: number;
}

export interface TemplateProgress {
  iteration: number;
  total: number;
  losses: StepLosses;
  lr: number;
  beta: number;
}

export interface FitOptions {
  /** Steps (default: the config's `iterations`, else end_epoch × cameras, at most 150000). */
  iterations?: number;
  resume?: boolean;
  /** Start again even when the checkpoint folder holds a fit. */
  force?: boolean;
  onStep?: (p: TemplateProgress) => void;
  log?: (line: string) => void;
  /** Polled between steps: true stops with a checkpoint. */
  shouldStop?: () => boolean;
  /** Skip the marching cubes at the end. */
  noMesh?: boolean;
}

export interface FitResult {
  iterations: number;
  losses: StepLosses[];
  templatePath?: string;
  vertices?: number;
  faces?: number;
  checkpoint: string;
  stopped: boolean;
}

/** The step schedule: initial · factor^⌊it / interval⌋, floored at min. */
export function stepLr(cfg: TemplateConfig['lr'], it: number): number {
  return Math.max(cfg.min, cfg.initial * cfg.factor ** Math.floor(it / cfg.interval));
}

function expandBox(b: Float64Array, m: readonly number[]): Float64Array {
  return Float64Array.from(b, (v, k) => v + (k < 3 ? -m[k]! : m[k - 3]!));
}

/** Pixel rectangle [x0, y0, x1, y1] covered by the projection of a box (clamped to the image). */
function projectedRect(cam: Camera, box: Float64Array): [number, number, number, number] {
  let x0 = Infinity,
    y0 = Infinity,
    x1 = -Infinity,
    y1 = -Infinity;
  for (let c = 0; c < 8; c++) {
    const p = [box[c & 4 ? 3 : 0]!, box[c & 2 ? 4 : 1]!, box[c & 1 ? 5 : 2]!];
    const { K, R, T } = cam;
    const q = [0, 1, 2].map((r) => R[3 * r]! * p[0]! + R[3 * r + 1]! * p[1]! + R[3 * r + 2]! * p[2]! + T[r]!);
    if (q[2]! <= 1e-6) return [0, 0, cam.width - 1, cam.height - 1]; // the box reaches behind the camera
    const u = (K[0]! * q[0]! + K[1]! * q[1]!) / q[2]! + K[2]!;
    const v = (K[4]! * q[1]!) / q[2]! + K[5]!;
    x0 = Math.min(x0, u);
    x1 = Math.max(x1, u);
    y0 = Math.min(y0, v);
    y1 = Math.max(y1, v);
  }
  return [
    Math.max(0, Math.floor(x0)),
    Math.max(0, Math.floor(y0)),
    Math.min(cam.width - 1, Math.ceil(x1)),
    Math.min(cam.height - 1, Math.ceil(y1)),
  ];
}

/** Load the frame, the weight volume (made when absent) and the posed → canonical table. */
export async function prepareScene(
  cfg: TemplateConfig,
  model: SmplxModel,
  log: (l: string) => void = () => {},
): Promise<TemplateScene> {
  const ds = new CaptureDataset({
    layout: cfg.layout,
    dataDir: cfg.dataDir,
    ...(cfg.frameRange !== undefined ? { frameRange: cfg.frameRange } : {}),
    ...(cfg.usedCamIds ? { usedCamIds: cfg.usedCamIds } : {}),
  });
  const picked = pickTemplateFrame(ds.frames, (f) => ds.smpl.frame(f), model, cfg.frame, cfg.source);
  const frame = picked.frame;
  const items = ds.items.filter((it) => it.frame === frame);
  if (items.length === 0) throw new InputError(`${cfg.source}: frame ${frame} has no images in the used cameras`);
  const params = ds.smpl.frame(frame);
  const cm = (d: number) => `${(100 * d).toFixed(1)} cm`;
  log(
    `frame ${frame}: its joints are ${cm(picked.distance)} from the canonical pose on average` +
      (picked.closest.frame !== frame
        ? ` (frame ${picked.closest.frame} of the range: ${cm(picked.closest.distance)}; train.frame: auto picks it)`
        : ''),
  );
  const cano = smplxCanonicalMesh(model, ds.smpl.betas);
  let volume: WeightVolume;
  if (existsSync(cfg.weightVolume)) {
    volume = readWeightVolume(cfg.weightVolume);
    if (volume.joints !== model.numJoints) {
      throw new InputError(
        `${cfg.weightVolume} holds ${volume.joints} joints, the model ${model.numJoints}: remove it to make it again`,
      );
    }
    log(`weight volume: ${cfg.weightVolume} (${volume.res}³)`);
  } else {
    log(`weight volume: diffusing the SMPL-X weights into ${cfg.volumeRes}³ -> ${cfg.weightVolume}`);
    volume = await diffuseWeightsParallel(
      { positions: cano.positions, faces: cano.faces, weights: model.weights, numJoints: model.numJoints },
      { res: cfg.volumeRes },
    );
    writeWeightVolume(cfg.weightVolume, volume);
    // the file keeps the boxes in float32: take them as a later run (--resume) reads them, so both build one table
    for (const b of [volume.bounds, volume.center, volume.bodyBounds]) b.set(Float32Array.from(b));
  }
  const c2l = canoToLive(model, params, { vertices: true });
  const posedBox = expandBox(pointBounds(c2l.live.vertices!), [0.15, 0.15, 0.15]);
  const bodyBox = pointBounds(cano.positions);
  const canoBox = expandBox(bodyBox, [0.05, 0.05, 0.15]);
  const canoCenter = Float64Array.from([0, 1, 2], (k) => (bodyBox[k]! + bodyBox[3 + k]!) / 2);
  const dims = InverseWarp.dimsFor(posedBox, cfg.warpCell);
  log(`posed -> canonical table: root finding at ${dims.join('x')} nodes`);
  const warp = await InverseWarp.solve(
    posedBox,
    dims,
    { vertices: c2l.live.vertices!, weights: model.weights, jointMats: c2l.jointMats },
    volume,
  );
  log(`  ${(100 * warp.converged).toFixed(1)}% of the nodes converged`);
  const views: TemplateView[] = [];
  for (const it of items) {
    const l = await ds.load(it, { bg: [0, 0, 0] });
    const { width: W, height: H } = l.image;
    const rgb = planarToInterleaved8(l.image);
    const [x0, y0, x1, y1] = projectedRect(l.camera, posedBox);
    const inside: number[] = [];
    const outside: number[] = [];
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const i = y * W + x;
        if (l.boundary[i]) continue;
        if (l.mask[i]) inside.push(i);
        else if (x >= x0 && x <= x1 && y >= y0 && y <= y1) outside.push(i);
      }
    if (inside.length === 0) throw new InputError(`${it.maskPath}: the mask of camera ${it.camName} is empty`);
    views.push({
      camera: l.camera,
      rgb,
      mask: l.mask,
      inside: Uint32Array.from(inside),
      outside: Uint32Array.from(outside),
    });
  }
  log(`frame ${frame}, ${views.length} cameras`);
  return { views, warp, posedBox, canoBox, canoCenter, volume, frame };
}

interface Batch {
  rays: number;
  samples: number;
  canonical: Float64Array;
  delta: Float64Array;
  targetColor: Float64Array;
  targetMask: Float64Array;
}

/** Rays of one view: pixels, ray-box intervals, stratified samples mapped to canonical space. */
export function sampleRays(scene: TemplateScene, view: TemplateView, rays: number, samples: number, rng: Rng): Batch {
  const cam = view.camera;
  const { K, R, T } = cam;
  const W = cam.width;
  const nIn = view.outside.length ? Math.min(view.inside.length, Math.ceil(rays / 2)) : rays;
  const o0 = -(R[0]! * T[0]! + R[3]! * T[1]! + R[6]! * T[2]!),
    o1 = -(R[1]! * T[0]! + R[4]! * T[1]! + R[7]! * T[2]!),
    o2 = -(R[2]! * T[0]! + R[5]! * T[1]! + R[8]! * T[2]!);
  const origin = [o0, o1, o2];
  const canonical = new Float64Array(rays * samples * 3);
  const delta = new Float64Array(rays * samples);
  const targetColor = new Float64Array(rays * 3);
  const targetMask = new Float64Array(rays);
  const box = scene.posedBox;
  const warp = scene.warp;
  const d = new Float64Array(3);
  for (let r = 0; r < rays; r++) {
    const list = r < nIn ? view.inside : view.outside;
    const pix = list[rng.int(list.length)]!;
    const px = pix % W,
      py = Math.floor(pix / W);
    for (let c = 0; c < 3; c++) targetColor[3 * r + c] = view.rgb[3 * pix + c]! / 255;
    targetMask[r] = view.mask[pix]! ? 1 : 0;
    // camera ray through the pixel centre (OpenCV: pixel (x, y) is centred at integer coordinates)
    const yc = (py - K[5]!) / K[4]!;
    const xc = (px - K[2]! - K[1]! * yc) / K[0]!;
    for (let c = 0; c < 3; c++) d[c] = R[c]! * xc + R[3 + c]! * yc + R[6 + c]!;
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
    const d0 = d[0]!,
      d1 = d[1]!,
      d2 = d[2]!;
    let prev = 0;
    for (let s = 0; s < samples; s++) {
      const t = near + ((s + rng.next()) / samples) * span;
      const k = r * samples + s;
      if (s > 0) delta[k - 1] = t - prev;
      prev = t;
      warp.lookup(o0 + t * d0, o1 + t * d1, o2 + t * d2, canonical, 3 * k);
    }
    delta[r * samples + samples - 1] = hit ? Math.max(0, far - prev) : 0;
  }
  return { rays, samples, canonical, delta, targetColor, targetMask };
}

interface CheckpointState {
  format: string;
  iteration: number;
  betaParam: number;
  betaAdam: { m: number; v: number; step: number };
  rng: [number, number, number, number];
  order: number[];
  adamSteps: Record<string, number>;
  settings: { dataDir: string; cameras: string[]; net: unknown; seed: number };
  losses: StepLosses[];
}

const LATEST = 'latest.json';

function saveCheckpoint(
  dir: string,
  net: TemplateNet,
  opt: Adam,
  state: Omit<CheckpointState, 'adamSteps' | 'format'>,
  weights: Map<string, Float32Array>,
  moments: Map<string, Float32Array>,
): string {
  mkdirSync(dir, { recursive: true });
  const name = `batch_${String(state.iteration).padStart(8, '0')}`;
  const tmp = join(dir, `.${name}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  const params = net.parameters();
  saveSafetensors(
    join(tmp, 'template.safetensors'),
    new Map([...params].map(([k, t]) => [k, { shape: t.shape, data: weights.get(k)! }])),
    { format: FORMAT },
  );
  const m = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  const adamSteps: Record<string, number> = {};
  for (const [k, t] of params) {
    const st = opt.stateOf(t);
    if (!st) continue;
    adamSteps[k] = st.step;
    m.set(`m.${k}`, { shape: t.shape, data: moments.get(`m.${k}`)! });
    m.set(`v.${k}`, { shape: t.shape, data: moments.get(`v.${k}`)! });
  }
  saveSafetensors(join(tmp, 'optim.safetensors'), m, { format: FORMAT });
  writeFileSync(join(tmp, 'state.json'), JSON.stringify({ format: FORMAT, ...state, adamSteps }));
  const final = join(dir, name);
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  const lt = join(dir, `${LATEST}.tmp-${process.pid}`);
  writeFileSync(lt, JSON.stringify({ checkpoint: name, iteration: state.iteration }));
  renameSync(lt, join(dir, LATEST));
  for (const f of readdirSync(dir))
    if (f !== name && /^batch_\d{8}$/.test(f)) rmSync(join(dir, f), { recursive: true, force: true });
  return final;
}

async function snapshot(
  net: TemplateNet,
  opt: Adam,
): Promise<{ weights: Map<string, Float32Array>; moments: Map<string, Float32Array> }> {
  const weights = new Map<string, Float32Array>();
  const moments = new Map<string, Float32Array>();
  for (const [k, t] of net.parameters()) {
    weights.set(k, await t.toArray());
    const st = opt.stateOf(t);
    if (st) {
      moments.set(`m.${k}`, await st.m.toArray());
      moments.set(`v.${k}`, await st.v.toArray());
    }
  }
  return { weights, moments };
}

/** Evaluate the SDF at canonical points (N·3), in chunks, without the tape. */
export async function evalSdf(
  net: TemplateNet,
  points: Float64Array,
  center: ArrayLike<number>,
  chunk = 1 << 15,
): Promise<Float32Array> {
  const N = points.length / 3;
  const out = new Float32Array(N);
  for (let s = 0; s < N; s += chunk) {
    const e = Math.min(N, s + chunk);
    const col = noGrad(() =>
      scope(() =>
        slice(net.sdfForward(encodePoints(points.subarray(3 * s, 3 * e), center, net.config.multires)), 1, 0, 1),
      ),
    );
    out.set(await col.toArray(), s);
    col.dispose();
  }
  return out;
}

/**
 * Marching cubes of the fitted SDF over the canonical box at `res` samples (a closed mesh: the walls are outside),
 * without floaters and cavities (components.ts).
 */
export async function extractTemplate(
  net: TemplateNet,
  box: Float64Array,
  res: readonly [number, number, number],
  center: ArrayLike<number>,
) {
  const [nx, ny, nz] = res;
  const spacing = [0, 1, 2].map((k) => (box[3 + k]! - box[k]!) / (res[k]! - 1)) as [number, number, number];
  const pts = new Float64Array(nx * ny * nz * 3);
  for (let x = 0, i = 0; x < nx; x++)
    for (let y = 0; y < ny; y++)
      for (let z = 0; z < nz; z++, i++) {
        pts[3 * i] = box[0]! + x * spacing[0];
        pts[3 * i + 1] = box[1]! + y * spacing[1];
        pts[3 * i + 2] = box[2]! + z * spacing[2];
      }
  const values = await evalSdf(net, pts, center);
  // the box's walls count as outside, so the mesh is closed even where the field has not yet receded from them
  const wall = Math.min(...spacing);
  for (let x = 0, i = 0; x < nx; x++)
    for (let y = 0; y < ny; y++)
      for (let z = 0; z < nz; z++, i++)
        if (x === 0 || y === 0 || z === 0 || x === nx - 1 || y === ny - 1 || z === nz - 1)
          values[i] = Math.max(values[i]!, wall);
  return keepBody(extractIsosurface({ dims: [nx, ny, nz], origin: [box[0]!, box[1]!, box[2]!], spacing, values }));
}

/** One line on the pieces the clean-up dropped. */
export function piecesLine(st: Cleaned['stats']): string {
  const cm3 = (v: number) => `${(v * 1e6).toFixed(0)} cm³`;
  return st.components === st.kept
    ? `one piece, ${cm3(st.keptVolume)}`
    : `${st.components} pieces: kept ${st.kept} (${cm3(st.keptVolume)}), dropped ${st.components - st.kept} ` +
        `floaters and cavities (${cm3(st.droppedVolume)})`;
}

export async function fitTemplate(cfg: TemplateConfig, options: FitOptions = {}): Promise<FitResult> {
  const log = options.log ?? (() => {});
  await initEngine();
  for (const n of cfg.notes) log(`note: ${n}`);
  if (!existsSync(cfg.smplxModel))
    throw new InputError(`${cfg.source}: the SMPL-X model ${cfg.smplxModel} does not exist (train.smplx_model)`);
  const model = loadSmplxModel(cfg.smplxModel);
  const scene = await prepareScene(cfg, model, log);
  const V = scene.views.length;
  const total = options.iterations ?? cfg.iterations ?? Math.min(150000, cfg.endEpoch * V);
  const settings = {
    dataDir: cfg.dataDir,
    frame: scene.frame,
    cameras: scene.views.map((v) => v.camera.name),
    net: cfg.net,
    seed: cfg.seed,
  };

  const initRng = new Rng(cfg.seed);
  const net = TemplateNet.create(cfg.net, () => initRng.next());
  const params = net.parameters();
  const opt = new Adam([...params.values()], { lr: cfg.lr.initial });
  let betaParam = BETA_INIT - BETA_MIN;
  const betaAdam = { m: 0, v: 0, step: 0 };
  const rng = new Rng(cfg.seed + 1);
  let order: number[] = [];
  let start = 0;
  const losses: StepLosses[] = [];

  const latest = join(cfg.netCkptDir, LATEST);
  if (existsSync(latest) && !options.resume && !options.force) {
    throw new InputError(
      `${cfg.netCkptDir} holds a template fit: use --resume to continue it or --force to start again`,
    );
  }
  if (options.force && !options.resume) {
    for (const f of existsSync(cfg.netCkptDir) ? readdirSync(cfg.netCkptDir) : []) {
      if (/^batch_\d{8}$/.test(f) || f === LATEST) rmSync(join(cfg.netCkptDir, f), { recursive: true, force: true });
    }
  }
  if (options.resume && existsSync(latest)) {
    const name = (JSON.parse(readFileSync(latest, 'utf8')) as { checkpoint: string }).checkpoint;
    const dir = join(cfg.netCkptDir, name);
    const st = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as CheckpointState;
    if (st.format !== FORMAT) throw new InputError(`${dir}: not a template checkpoint`);
    if (JSON.stringify(st.settings) !== JSON.stringify(settings)) {
      throw new InputError(
        `${dir} was made with other settings (data, frame, cameras, network or seed): use --force to start again`,
      );
    }
    const w = loadSafetensors(join(dir, 'template.safetensors')).tensors;
    for (const [k, t] of params) {
      const a = w.get(k);
      if (!a || a.data.length !== t.size)
        throw new InputError(`${dir}/template.safetensors: no '${k}' of ${t.size} values`);
      gpu().upload(t.buffer, a.data as Float32Array);
    }
    const mo = loadSafetensors(join(dir, 'optim.safetensors')).tensors;
    for (const [k, step] of Object.entries(st.adamSteps)) {
      opt.setState(
        params.get(k)!,
        step,
        mo.get(`m.${k}`)!.data as Float32Array,
        mo.get(`v.${k}`)!.data as Float32Array,
      );
    }
    betaParam = st.betaParam;
    Object.assign(betaAdam, st.betaAdam);
    rng.s = [...st.rng];
    order = [...st.order];
    start = st.iteration;
    losses.push(...st.losses);
    log(`resuming from ${dir} (step ${start})`);
  }

  const M = cfg.eikonalPoints;
  const h = cfg.eikonalStep;
  /** One step's camera, samples and eikonal points, with the generator's state and the order before drawing them. */
  interface Draw {
    batch: Batch;
    pts: Float64Array;
    rngBefore: [number, number, number, number];
    orderBefore: number[];
  }
  const draw = (): Draw => {
    const rngBefore = [...rng.s] as [number, number, number, number];
    const orderBefore = [...order];
    if (order.length === 0) {
      order = Array.from({ length: V }, (_, i) => i);
      for (let i = V - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
    }
    const view = scene.views[order.shift()!]!;
    const batch = sampleRays(scene, view, cfg.rays, cfg.samples, rng);
    const N = batch.rays * batch.samples;
    // eikonal points: half ray samples, half uniform in the canonical box; then the three forward-difference copies
    const eik = new Float64Array(4 * M * 3);
    const cb = scene.canoBox;
    for (let m = 0; m < M; m++) {
      if (m < M / 2) {
        const s = rng.int(N);
        for (let c = 0; c < 3; c++) eik[3 * m + c] = batch.canonical[3 * s + c]!;
      } else for (let c = 0; c < 3; c++) eik[3 * m + c] = cb[c]! + rng.next() * (cb[3 + c]! - cb[c]!);
      for (let k = 0; k < 3; k++)
        for (let c = 0; c < 3; c++) eik[3 * ((k + 1) * M + m) + c] = eik[3 * m + c]! + (c === k ? h : 0);
    }
    const pts = new Float64Array((N + 4 * M) * 3);
    pts.set(batch.canonical, 0);
    pts.set(eik, 3 * N);
    return { batch, pts, rngBefore, orderBefore };
  };
  // the next step's draw, made while the GPU runs this one; a checkpoint stores the state from before it
  let next: Draw | null = null;

  const checkpoint = async (iteration: number): Promise<string> => {
    const snap = await snapshot(net, opt);
    const rngState = next ? next.rngBefore : ([...rng.s] as [number, number, number, number]);
    const orderState = next ? next.orderBefore : [...order];
    return saveCheckpoint(
      cfg.netCkptDir,
      net,
      opt,
      { iteration, betaParam, betaAdam: { ...betaAdam }, rng: rngState, order: orderState, settings, losses },
      snap.weights,
      snap.moments,
    );
  };

  let last = '';
  let stopped = false;
  let it = start;
  for (; it < total; it++) {
    if (options.shouldStop?.()) {
      stopped = true;
      break;
    }
    const { batch, pts } = next ?? draw();
    next = null;
    const N = batch.rays * batch.samples;
    const beta = BETA_MIN + Math.abs(betaParam);
    const lr = stepLr(cfg.lr, it);
    const stepLoss = await (async () => {
      const s = beginScope();
      try {
        const out = net.sdfForward(encodePoints(pts, scene.canoCenter, cfg.net.multires));
        const sdf = slice(out, 1, 0, 1);
        const col = net.colorForward(slice(slice(out, 0, 0, N), 1, 1, 1 + cfg.net.features));
        // rendering, the eikonal term and their gradients on the GPU (volume-render-gpu.ts), so the whole step is
        // queued before anything is read back: only its per-ray and per-point losses come back, after Adam
        const R = batch.rays;
        const gradSdf = Tensor.empty([N + 4 * M, 1]);
        const gradColor = Tensor.empty([N, 3]);
        const perRay = Tensor.empty([4 * R]);
        const perPoint = Tensor.empty([M]);
        renderRaysGpu(
          {
            rays: R,
            samples: batch.samples,
            sdf,
            color: col,
            delta: Tensor.from(Float32Array.from(batch.delta), [N]),
            targetColor: Tensor.from(Float32Array.from(batch.targetColor), [3 * R]),
            targetMask: Tensor.from(Float32Array.from(batch.targetMask), [R]),
          },
          beta,
          cfg.lossWeight.color,
          cfg.lossWeight.mask,
          { gradSdf, gradColor, perRay },
        );
        eikonalGpu(sdf, N, M, h, cfg.lossWeight.eikonal, { gradSdf, perPoint });
        const surrogate = add(sum(mul(sdf, gradSdf)), sum(mul(col, gradColor)));
        opt.zeroGrad();
        backward(surrogate);
        opt.step(lr);
        const readback = concat([perRay, perPoint], 0).toArray();
        if (it + 1 < total) next = draw();
        const host = await readback;
        const { color, mask, gradBeta } = rayLosses(host, R);
        let le = 0;
        for (let m = 0; m < M; m++) le += host[4 * R + m]!;
        const rr = { losses: { color, mask }, gradBeta };
        const ek = { loss: le / M };
        // β on the CPU: Adam on its parameter p (β = β_min + |p|)
        const g = rr.gradBeta * Math.sign(betaParam || 1);
        betaAdam.step++;
        betaAdam.m = 0.9 * betaAdam.m + 0.1 * g;
        betaAdam.v = 0.999 * betaAdam.v + 0.001 * g * g;
        const mh = betaAdam.m / (1 - 0.9 ** betaAdam.step);
        const vh = betaAdam.v / (1 - 0.999 ** betaAdam.step);
        betaParam -= (lr * mh) / (Math.sqrt(vh) + 1e-8);
        const l: StepLosses = {
          color: rr.losses.color,
          mask: rr.losses.mask,
          eikonal: ek.loss,
          total:
            cfg.lossWeight.color * rr.losses.color +
            cfg.lossWeight.mask * rr.losses.mask +
            cfg.lossWeight.eikonal * ek.loss,
        };
        return l;
      } finally {
        s.end();
      }
    })();
    if (!Number.isFinite(stepLoss.total))
      throw new Error(`template fit: the loss became ${stepLoss.total} at step ${it + 1}; the last checkpoint is kept`);
    losses.push(stepLoss);
    options.onStep?.({ iteration: it + 1, total, losses: stepLoss, lr, beta });
    if ((it + 1) % cfg.ckptEvery === 0 && it + 1 < total) last = await checkpoint(it + 1);
  }
  last = await checkpoint(it);
  const result: FitResult = { iterations: it, losses, checkpoint: last, stopped };
  if (!stopped && !options.noMesh) {
    log(`marching cubes at ${cfg.mcResolution.join('x')}`);
    const { mesh, stats } = await extractTemplate(net, scene.canoBox, cfg.mcResolution, scene.canoCenter);
    log(`mesh: ${piecesLine(stats)}`);
    writeTemplatePly(cfg.templateOut, mesh);
    result.templatePath = cfg.templateOut;
    result.vertices = mesh.positions.length / 3;
    result.faces = mesh.faces.length / 3;
    log(`${cfg.templateOut}: ${result.vertices} vertices, ${result.faces} triangles`);
  }
  opt.dispose();
  net.dispose();
  return result;
}
