/**
 * `animgs synth`: a synthetic multi-view capture in the THuman4.0 layout, of the
 * synthetic SMPL-X-format body wearing pose-dependent clothes (a skirt that swings and flares with the legs,
 * sleeves that fold at the elbows) and a procedural texture:
 *
 *   <out>/calibration.json            cameras cam00.. (K, R, T, imgSize), a ring at chest height and one above
 *   <out>/images/camXX/%08d.jpg       anti-aliased shaded renders (4x MSAA, optional supersampling)
 *   <out>/masks/camXX/%08d.jpg        coverage masks
 *   <out>/smpl_params.npz             the training motion (walk, arm swings, squat)
 *   <out>/smplx_model.npz             the synthetic body in the SMPL-X .npz layout (load it as the SMPL-X model)
 *   <out>/poses_test.npz              a held-out motion in the smpl_params layout, for animation tests
 *   <out>/synth.json                  the settings it was made with (written last: the capture is complete)
 *
 * Deterministic from the seed (motions, palette, betas). Safe to interrupt: every file is written atomically, a
 * stage marker (.animgs-synth.json) records the settings before the first image, and a rerun with the same settings
 * renders only the (frame, camera) pairs whose files are missing, giving the same bytes as an uninterrupted run. A
 * folder holding anything else (another capture, other settings, foreign files) is refused unless `force`, which
 * replaces the capture (and removes images/ and masks/ entirely, so no camera folders of a larger run remain).
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { smplxForward, type SmplxParams } from '../../body/forward.js';
import type { SmplxModel } from '../../body/model.js';
import { buildSyntheticBody, syntheticSmplxModel } from '../../body/synthetic.js';
import { writeSyntheticBody } from '../../body/node/files.js';
import type { Gpu } from '../../gpu/index.js';
import { InputError } from '../../io/errors.js';
import { writeImage8 } from '../../io/node/image.js';
import { checkOutputDir, removeStaleTemps, writeFileAtomic } from '../../io/node/atomic.js';
import { beginStage, completeStage, differences, readStage, type StageParams } from '../../io/node/stage.js';
import { vertexNormals } from '../../io/mesh.js';
import type { Camera } from '../camera.js';
import { writeCalibrationJson } from '../camera.js';
import { writeSmplParams } from '../smpl-params.js';
import { MATERIAL, skirt, sleeves, type Garment } from './clothes.js';
import { heldOutMotion, rng, trainingMotion } from './motion.js';
import { SynthRenderer, type Palette, type Rgb, type ShadedMesh } from './render.js';

export interface SynthOptions {
  out: string;
  cameras: number;
  /** Cameras on the upper ring (looking down); the rest are on the chest-height ring. Default ⌊cameras/4⌋. */
  camerasAbove?: number;
  width: number;
  height: number;
  frames: number;
  /** Frames of the held-out motion (default max(10, frames/2)). */
  testFrames?: number;
  seed: number;
  /** Supersampling factor on top of 4x MSAA (default 1). */
  supersample?: number;
  /** JPEG quality (default 92). */
  quality?: number;
  /** Replace whatever `out` holds (a capture with other settings, foreign files). Default false: refuse. */
  force?: boolean;
  /** The flag named in refusals (default --force; the demo's is --fresh). */
  forceFlag?: string;
  onFrame?: (done: number, total: number) => void;
}

/** Bounds of the settings (checked before anything is written). */
export const SYNTH_LIMITS = {
  cameras: [1, 99],
  size: [16, 8192],
  frames: [1, 100_000],
  supersample: [1, 8],
  quality: [1, 100],
} as const;

/** Check settings; throws an InputError naming the setting (the CLI flag's name) and its allowed range. */
export function validateSynthOptions(opt: SynthOptions): void {
  const check = (v: number | undefined, name: string, [lo, hi]: readonly [number, number]) => {
    if (v === undefined) return;
    if (!Number.isInteger(v) || v < lo || v > hi)
      throw new InputError(`--${name} ${v}: must be an integer from ${lo} to ${hi}`);
  };
  check(opt.cameras, 'cameras', SYNTH_LIMITS.cameras);
  check(opt.camerasAbove, 'above', [0, opt.cameras]);
  check(opt.width, 'size (width)', SYNTH_LIMITS.size);
  check(opt.height, 'size (height)', SYNTH_LIMITS.size);
  check(opt.frames, 'frames', SYNTH_LIMITS.frames);
  check(opt.testFrames, 'test-frames', SYNTH_LIMITS.frames);
  check(opt.supersample, 'supersample', SYNTH_LIMITS.supersample);
  check(opt.quality, 'quality', SYNTH_LIMITS.quality);
  check(opt.seed, 'seed', [0, 2 ** 31 - 1]);
  const ss = opt.supersample ?? 1;
  if (Math.max(opt.width, opt.height) * ss > SYNTH_LIMITS.size[1]) {
    throw new InputError(
      `--size ${opt.width}x${opt.height} with --supersample ${ss} renders ${opt.width * ss}x${opt.height * ss} pixels; ` +
        `the renderer allows at most ${SYNTH_LIMITS.size[1]} per side: lower one of them`,
    );
  }
}

/** The settings that determine a capture's bytes (what the stage marker and synth.json record). */
export function synthParams(opt: SynthOptions): StageParams {
  return {
    format: 'animgs synth v1',
    cameras: opt.cameras,
    camerasAbove: opt.camerasAbove ?? Math.floor(opt.cameras / 4),
    width: opt.width,
    height: opt.height,
    frames: opt.frames,
    testFrames: opt.testFrames ?? Math.max(10, Math.floor(opt.frames / 2)),
    seed: opt.seed,
    supersample: opt.supersample ?? 1,
    quality: opt.quality ?? 92,
  };
}

/** The files and folders a capture of ours consists of (what `force` replaces). */
const CAPTURE_FILES = ['calibration.json', 'smpl_params.npz', 'smplx_model.npz', 'poses_test.npz', 'synth.json'];
const CAPTURE_DIRS = ['images', 'masks'];
const STAGE = 'synth';

export type CaptureState =
  | { kind: 'empty' }
  | { kind: 'complete' }
  | { kind: 'partial' }
  | { kind: 'different'; differences: string[] }
  | { kind: 'foreign'; entries: string[] };

/** What `out` holds compared with the settings `params`. */
export function captureState(out: string, params: StageParams): CaptureState {
  if (!existsSync(out)) return { kind: 'empty' };
  if (!statSync(out).isDirectory()) return { kind: 'foreign', entries: [out] };
  const entries = readdirSync(out).filter((n) => !/\.tmp-\d+/.test(n));
  if (entries.length === 0) return { kind: 'empty' };
  const marker = readStage(out, STAGE);
  let was: StageParams | undefined = marker?.params;
  let complete = marker?.complete ?? false;
  if (!marker && existsSync(join(out, 'synth.json'))) {
    // a capture from before the stage markers: synth.json (then written first) holds its settings
    try {
      const old = JSON.parse(readFileSync(join(out, 'synth.json'), 'utf8')) as Record<string, unknown>;
      was = Object.fromEntries(Object.keys(params).map((k) => [k, old[k]]));
      was.format = params.format;
      complete = false; // its images may be incomplete: resume checks every file
    } catch {
      was = undefined;
    }
  }
  if (!was) return { kind: 'foreign', entries };
  const diff = differences(was, params);
  if (diff.length) return { kind: 'different', differences: diff };
  return { kind: complete && existsSync(join(out, 'synth.json')) ? 'complete' : 'partial' };
}

export const SYNTH_PRESETS: Record<string, Omit<SynthOptions, 'out' | 'seed'>> = {
  /** A capture the CPU adapter writes in about a minute. */
  small: { cameras: 4, width: 256, height: 256, frames: 20, testFrames: 10, supersample: 1 },
  /** A GPU-sized capture. */
  large: { cameras: 16, width: 1024, height: 1024, frames: 300, testFrames: 150, supersample: 2 },
};

/** Cameras on a ring around the subject (and a ring above), looking at `target`, OpenCV convention. */
export function ringCameras(n: number, above: number, width: number, height: number, seed = 1): Camera[] {
  const r = rng(seed * 31 + 7);
  const target = [0, -0.35, 0];
  const cams: Camera[] = [];
  const f = 1.5 * Math.max(width, height);
  for (let i = 0; i < n; i++) {
    const upper = i >= n - above;
    const k = upper ? i - (n - above) : i;
    const count = upper ? above : n - above;
    const az = (2 * Math.PI * k) / count + (upper ? Math.PI / count : 0) + 0.05 * (r() - 0.5);
    const dist = (upper ? 3.3 : 3.0) + 0.1 * (r() - 0.5);
    const eye = [dist * Math.sin(az), upper ? 1.6 : 0.0 + 0.1 * (r() - 0.5), dist * Math.cos(az)];
    const z = target.map((t, c) => t - eye[c]!);
    const zl = Math.hypot(...z);
    for (let c = 0; c < 3; c++) z[c] = z[c]! / zl;
    const up = [0, 1, 0];
    const x = [z[1]! * up[2]! - z[2]! * up[1]!, z[2]! * up[0]! - z[0]! * up[2]!, z[0]! * up[1]! - z[1]! * up[0]!];
    const xl = Math.hypot(...x);
    for (let c = 0; c < 3; c++) x[c] = x[c]! / xl;
    const y = [z[1]! * x[2]! - z[2]! * x[1]!, z[2]! * x[0]! - z[0]! * x[2]!, z[0]! * x[1]! - z[1]! * x[0]!];
    const R = Float64Array.of(...x, ...y, ...z);
    const T = Float64Array.from(
      [0, 1, 2],
      (row) => -(R[row * 3]! * eye[0]! + R[row * 3 + 1]! * eye[1]! + R[row * 3 + 2]! * eye[2]!),
    );
    const fj = f * (1 + 0.02 * (r() - 0.5));
    const K = Float64Array.of(fj, 0, width / 2 + 2 * (r() - 0.5), 0, fj, height / 2 + 2 * (r() - 0.5), 0, 0, 1);
    cams.push({ name: `cam${String(i).padStart(2, '0')}`, K, R, T, width, height });
  }
  return cams;
}

/** A seeded palette: skin tone, hair colour, shirt stripes and logo, skirt tartan, leggings, shoes. */
export function syntheticPalette(seed: number): Palette {
  const r = rng(seed * 101 + 3);
  const pick = <T>(a: T[]): T => a[Math.floor(r() * a.length)]!;
  const hsv = (h: number, s: number, v: number): Rgb => {
    const f = (n: number) => {
      const k = (n + h * 6) % 6;
      return v - v * s * Math.max(0, Math.min(k, 4 - k, 1));
    };
    return [f(5), f(3), f(1)];
  };
  const hue = r();
  return {
    skin: pick<Rgb>([
      [0.94, 0.8, 0.69],
      [0.87, 0.68, 0.53],
      [0.72, 0.52, 0.38],
      [0.55, 0.38, 0.26],
      [0.98, 0.86, 0.76],
    ]),
    hair: pick<Rgb>([
      [0.1, 0.07, 0.05],
      [0.35, 0.2, 0.1],
      [0.7, 0.5, 0.25],
      [0.55, 0.25, 0.12],
    ]),
    shirtA: hsv(hue, 0.65, 0.85),
    shirtB: hsv((hue + 0.5) % 1, 0.2, 0.95),
    logo: hsv((hue + 0.33) % 1, 0.9, 0.8),
    skirtA: hsv((hue + 0.15) % 1, 0.7, 0.55),
    skirtB: hsv((hue + 0.6) % 1, 0.6, 0.35),
    skirtLine: hsv((hue + 0.1) % 1, 0.3, 0.95),
    leggings: hsv((hue + 0.7) % 1, 0.4, 0.2),
    shoes: hsv((hue + 0.9) % 1, 0.8, 0.6),
    background: [0.22, 0.24, 0.27],
  };
}

/**
 * Per-vertex materials of the body from its parts (torso and upper arms = shirt, legs = leggings, head = face + hair,
 * ...). `restJoints` (55*3) places the elbows: the arm is shirt up to them, so no skin shows where a sleeve starts.
 */
export function bodyMaterials(
  parts: readonly string[],
  rest: ArrayLike<number>,
  restJoints: ArrayLike<number>,
): Float32Array {
  const m = new Float32Array(parts.length);
  const elbowX = Math.abs(restJoints[18 * 3]!);
  parts.forEach((p, v) => {
    const x = rest[v * 3]!,
      y = rest[v * 3 + 1]!,
      z = rest[v * 3 + 2]!;
    let id: number = MATERIAL.skin;
    if (p === 'torso') id = MATERIAL.shirt;
    else if (p.endsWith('_arm') && Math.abs(x) < elbowX) id = MATERIAL.shirt;
    else if (p.endsWith('_leg')) id = MATERIAL.leggings;
    else if (p.endsWith('_foot')) id = MATERIAL.shoes;
    else if (p === 'head') id = y > 0.37 || (z < 0.0 && y > 0.27) ? MATERIAL.hair : MATERIAL.face;
    m[v] = id;
  });
  return m;
}

/** The posed, clothed mesh of one frame. */
export function clothedMesh(
  model: SmplxModel,
  frame: SmplxParams,
  materials: Float32Array,
): { mesh: ShadedMesh; garments: Garment[] } {
  const out = smplxForward(model, frame, { vertices: true });
  const garments = [skirt(out), ...sleeves(out)];
  const Vb = model.numVertices;
  let V = Vb,
    F = model.faces.length;
  for (const g of garments) {
    V += g.positions.length / 3;
    F += g.faces.length;
  }
  const positions = new Float32Array(V * 3);
  const normals = new Float32Array(V * 3);
  const tex = new Float32Array(V * 3);
  const material = new Float32Array(V);
  const indices = new Uint32Array(F);
  positions.set(out.vertices!);
  normals.set(vertexNormals(out.vertices!, model.faces));
  tex.set(model.vTemplate);
  material.set(materials);
  indices.set(model.faces);
  let v0 = Vb,
    f0 = model.faces.length;
  for (const g of garments) {
    const gv = g.positions.length / 3;
    positions.set(g.positions, v0 * 3);
    normals.set(vertexNormals(g.positions, g.faces), v0 * 3);
    tex.set(g.tex, v0 * 3);
    material.fill(g.material, v0, v0 + gv);
    for (let i = 0; i < g.faces.length; i++) indices[f0 + i] = g.faces[i]! + v0;
    v0 += gv;
    f0 += g.faces.length;
  }
  return { mesh: { positions, normals, tex, material, indices }, garments };
}

export interface SynthResult {
  cameras: Camera[];
  frames: number;
  testFrames: number;
  seconds: number;
  /** What happened: written afresh, resumed (missing images rendered), or already complete (nothing written). */
  outcome: 'written' | 'resumed' | 'complete';
  /** (frame, camera) views rendered by this run. */
  rendered: number;
}

/**
 * Check, before any work, that a capture with these settings may be written to `opt.out` (new, empty, the same
 * settings interrupted or complete, or anything with `force`); throws an InputError saying what is there and what
 * to do. Returns what the folder holds.
 */
export function checkSynthTarget(opt: SynthOptions): CaptureState {
  const out = opt.out;
  const flag = opt.forceFlag ?? '--force';
  const state = captureState(out, synthParams(opt));
  if (state.kind === 'different' && !opt.force) {
    throw new InputError(
      `${out} holds a synthetic capture made with other settings (${state.differences.join('; ')}): use ${flag} ` +
        `to replace it, or another --out`,
    );
  }
  if (state.kind === 'foreign' && !opt.force) {
    const shown = state.entries.slice(0, 4).join(', ') + (state.entries.length > 4 ? ', ...' : '');
    throw new InputError(
      `${out} is not empty (${shown}) and holds no synthetic capture: use ${flag} to write one there (replacing ` +
        `${[...CAPTURE_FILES.slice(0, 3), ...CAPTURE_DIRS].join(', ')}, ...), or another --out`,
    );
  }
  if (state.kind !== 'complete' || opt.force) checkOutputDir(out, 'capture folder');
  return state;
}

/** Write a synthetic capture (or finish an interrupted one with the same settings). */
export async function synthesizeCapture(gpu: Gpu, opt: SynthOptions): Promise<SynthResult> {
  const t0 = performance.now();
  const out = opt.out;
  validateSynthOptions(opt);
  const maxTex = gpu.limits.maxTextureDimension2D;
  const ss = opt.supersample ?? 1;
  if (maxTex && Math.max(opt.width, opt.height) * ss > maxTex) {
    throw new InputError(`--size ${opt.width}x${opt.height} (x${ss}) exceeds this adapter's ${maxTex}-pixel textures`);
  }
  const params = synthParams(opt);
  const state = checkSynthTarget(opt);
  const testFrames = params.testFrames as number;
  const above = params.camerasAbove as number;
  const cams = ringCameras(opt.cameras, above, opt.width, opt.height, opt.seed);
  if (state.kind === 'complete' && !opt.force) {
    return { cameras: cams, frames: opt.frames, testFrames, seconds: 0, outcome: 'complete', rendered: 0 };
  }
  if ((state.kind === 'different' || state.kind === 'foreign' || state.kind === 'complete') && opt.force) {
    for (const f of CAPTURE_FILES) rmSync(join(out, f), { force: true });
    for (const d of CAPTURE_DIRS) rmSync(join(out, d), { recursive: true, force: true });
  }
  const resumed = state.kind === 'partial';
  removeStaleTemps(out);
  rmSync(join(out, 'synth.json'), { force: true }); // written again last, once every image is there
  beginStage(out, STAGE, params);
  // a resumed run keeps the files already there (written atomically, so complete, and identical to what it would
  // write): their modification times stay, which later stages (prep) record as their inputs' identity
  const keep = (f: string) => resumed && existsSync(join(out, f));
  const body = buildSyntheticBody();
  if (!keep('smplx_model.npz')) writeSyntheticBody(join(out, 'smplx_model.npz'), body);
  const model = syntheticSmplxModel(body);
  const r = rng(opt.seed * 13 + 5);
  const betas = Array.from({ length: 10 }, (_, k) => (k < 4 ? 0.6 * (r() - 0.5) : 0));
  const train = trainingMotion(opt.frames, opt.seed).map((p) => ({ ...p, betas }));
  const test = heldOutMotion(testFrames, opt.seed).map((p) => ({ ...p, betas }));
  if (!keep('smpl_params.npz')) writeSmplParams(join(out, 'smpl_params.npz'), train, betas);
  if (!keep('poses_test.npz')) writeSmplParams(join(out, 'poses_test.npz'), test, betas);
  if (!keep('calibration.json')) writeCalibrationJson(join(out, 'calibration.json'), cams);
  for (const c of cams) {
    for (const d of CAPTURE_DIRS) {
      checkOutputDir(join(out, d, c.name), 'capture folder');
      removeStaleTemps(join(out, d, c.name));
    }
  }

  const materials = bodyMaterials(body.vertexPart, model.vTemplate, model.jTemplate);
  const renderer = new SynthRenderer(gpu, syntheticPalette(opt.seed), opt.supersample ?? 1);
  const pending: Promise<void>[] = [];
  const quality = params.quality as number;
  let rendered = 0;
  try {
    for (let f = 0; f < opt.frames; f++) {
      const name = `${String(f).padStart(8, '0')}.jpg`;
      const image = (c: Camera) => join(out, 'images', c.name, name);
      const mask = (c: Camera) => join(out, 'masks', c.name, name);
      // resume: files are written atomically, so one that exists is complete
      const todo = resumed ? cams.filter((c) => !existsSync(image(c)) || !existsSync(mask(c))) : cams;
      if (todo.length) {
        const { mesh } = clothedMesh(model, train[f]!, materials);
        renderer.setMesh(mesh);
      }
      for (const cam of todo) {
        const view = await renderer.render(cam);
        pending.push(
          writeImage8(image(cam), view.width, view.height, 3, view.rgb, { quality }),
          writeImage8(mask(cam), view.width, view.height, 1, view.alpha, { quality: 95 }),
        );
        rendered++;
        // bound the JPEG encodes in flight
        if (pending.length >= 16) await Promise.all(pending.splice(0));
      }
      opt.onFrame?.(f + 1, opt.frames);
    }
    await Promise.all(pending.splice(0));
  } finally {
    await Promise.allSettled(pending);
    renderer.dispose();
  }
  writeFileAtomic(join(out, 'synth.json'), JSON.stringify({ ...params, betas }, null, 1));
  completeStage(out, STAGE, params, { rendered });
  return {
    cameras: cams,
    frames: opt.frames,
    testFrames,
    seconds: (performance.now() - t0) / 1000,
    outcome: resumed ? 'resumed' : 'written',
    rendered,
  };
}
