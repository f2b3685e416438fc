/**
 * A tiny THuman4.0-layout capture that is ready for training at the `small` preset: 2 cameras × 4 frames of
 * 13×11 images with soft-edged masks that move with the frame, smpl_params, the tiny SMPL-X fixture model,
 * canonical maps of side 256 (a 4×4 block of foreground) and posed maps 128×256 whose values encode (frame, y, x, c).
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rodrigues } from '../../src/body/rotation.js';
import { writeCalibrationJson, type Camera } from '../../src/data/camera.js';
import { writeSmplParams } from '../../src/data/smpl-params.js';
import { writeImage8 } from '../../src/io/node/image.js';
import { writeExrXyz } from '../../src/io/node/exr.js';
import { encodeNpy, ndarray } from '../../src/io/npy.js';
import { CANO_NML_EXR, CANO_POS_EXR, INIT_LBS_NPY, POS_MAP_DIR, writePoseMap } from '../../src/prep/files.js';

export const FX_W = 13,
  FX_H = 11,
  FX_FRAMES = 4,
  FX_CAMS = 2,
  FX_MAP = 256;

/** Posed map value of frame f at (y, x), channel c. */
export const poseValue = (f: number, y: number, x: number, c: number) => f + c * 0.25 + y * 1e-3 + x * 1e-6;

/** The mask of (frame, cam): an ellipse with a soft rim, shifted with the frame (8-bit, row-major). */
export function fixtureMask(f: number, cam: number): Uint8Array {
  const m = new Uint8Array(FX_W * FX_H);
  const cx = 5 + f * 0.7,
    cy = 5 + cam * 0.5;
  for (let y = 0; y < FX_H; y++) {
    for (let x = 0; x < FX_W; x++) {
      const r = Math.hypot((x - cx) / 3.2, (y - cy) / 2.6);
      m[y * FX_W + x] = r < 0.8 ? 255 : r < 1.2 ? Math.round(255 * (1.2 - r) * 2.5) : 0;
    }
  }
  return m;
}

function camera(name: string, angle: number): Camera {
  return {
    name,
    K: Float64Array.of(20, 0, 6.5, 0, 21, 5.5, 0, 0, 1),
    R: rodrigues(0, angle, 0),
    T: Float64Array.of(0.1, -0.2, 3),
    width: FX_W,
    height: FX_H,
  };
}

/** The capture in `dir`, its canonical maps of side `mapSize` (another preset's: the `tiny` one's 128). */
export async function writeTrainingCapture(dir: string, mapSize = FX_MAP): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const cams = Array.from({ length: FX_CAMS }, (_, c) => camera(`cam0${c}`, 0.6 * c));
  writeCalibrationJson(join(dir, 'calibration.json'), cams);
  const writes: Promise<void>[] = [];
  for (const c of cams) {
    mkdirSync(join(dir, 'images', c.name), { recursive: true });
    mkdirSync(join(dir, 'masks', c.name), { recursive: true });
  }
  for (let f = 0; f < FX_FRAMES; f++) {
    for (let c = 0; c < FX_CAMS; c++) {
      const rgb = new Uint8Array(FX_W * FX_H * 3);
      for (let i = 0; i < FX_W * FX_H; i++) {
        rgb[3 * i] = (i * 7 + f * 40) % 256;
        rgb[3 * i + 1] = (i * 3 + c * 90) % 256;
        rgb[3 * i + 2] = 128;
      }
      const name = `${String(f).padStart(8, '0')}.jpg`;
      writes.push(writeImage8(join(dir, 'images', cams[c]!.name, name), FX_W, FX_H, 3, rgb, { quality: 100 }));
      writes.push(
        writeImage8(join(dir, 'masks', cams[c]!.name, name), FX_W, FX_H, 1, fixtureMask(f, c), { quality: 100 }),
      );
    }
  }
  await Promise.all(writes);
  const frames = Array.from({ length: FX_FRAMES }, (_, f) => ({
    bodyPose: Float32Array.from({ length: 63 }, (_, k) => 0.02 * Math.sin(k + f)),
    globalOrient: [0, 0.1 * f, 0],
    transl: [0.1 * f, 0, 0],
  }));
  writeSmplParams(join(dir, 'smpl_params.npz'), frames, new Array(10).fill(0));
  copyFileSync(new URL('../fixtures/body/tiny_smplx.npz', import.meta.url), join(dir, 'smplx_model.npz'));

  const pm = join(dir, POS_MAP_DIR);
  mkdirSync(pm, { recursive: true });
  const S = mapSize;
  const pos = new Float32Array(S * 2 * S * 3);
  let N = 0;
  for (let y = 100; y < 104; y++) {
    for (let x = 120; x < 124; x++) {
      const o = (y * 2 * S + x) * 3;
      pos[o] = 0.1 + x * 1e-3;
      pos[o + 1] = 0.2;
      pos[o + 2] = 0.3;
      N++;
    }
  }
  writeExrXyz(join(pm, CANO_POS_EXR), { width: 2 * S, height: S, data: pos });
  writeExrXyz(join(pm, CANO_NML_EXR), { width: 2 * S, height: S, data: pos });
  const lbs = new Float32Array(N * 55);
  for (let i = 0; i < N; i++) lbs[i * 55] = 1;
  writeFileSync(join(pm, INIT_LBS_NPY), encodeNpy(ndarray(lbs, [N, 55])));
  for (let f = 0; f < FX_FRAMES; f++) {
    const map = new Float32Array((S / 2) * S * 3);
    for (let y = 0; y < S / 2; y++)
      for (let x = 0; x < S; x++) for (let c = 0; c < 3; c++) map[(y * S + x) * 3 + c] = poseValue(f, y, x, c);
    writePoseMap(pm, f, map, S);
  }
}

/** An avatar.yaml for the fixture (the original's keys; `extra` lines are appended under `train:`). */
export function fixtureYaml(dir: string, extra = ''): string {
  return `mode: train
train:
  dataset: MvRgbDatasetTHuman4
  data:
    subject_name: fixture
    data_dir: ${dir}
    frame_range: [0, ${FX_FRAMES}]
    used_cam_ids: [0, 1]
    load_smpl_pos_map: true
  net_ckpt_dir: ${join(dir, 'results')}
  random_bg_color: true
  num_workers: 0
${extra}model:
  with_viewdirs: true
  random_style: false
`;
}
