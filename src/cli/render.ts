/**
 * `animgs render <scene.ply> --camera <camera.json | calibration.json --cam ID> --out <image.png|.jpg>`: rasterize
 * a 3DGS PLY from one camera. Everything is read and checked (scene, camera, output path) before the GPU starts.
 */
import type { Command } from 'commander';
import { readCameraJson } from '../data/camera.js';
import { getGpu } from '../gpu/index.js';
import { InputError } from '../io/errors.js';
import { imageFormatOf, planarToInterleaved8 } from '../io/image.js';
import { writeImage8 } from '../io/node/image.js';
import { checkOutputFile } from '../io/node/atomic.js';
import { writeNpz } from '../io/node/npz.js';
import type { Camera } from '../splat/camera.js';
import { plyToScene } from '../splat/ply.js';
import { readPly } from '../splat/node/ply.js';
import { renderScene } from '../splat/rasterizer.js';
import { intOption } from './options.js';

export interface RenderArgs {
  scene: string;
  camera: string;
  /** Camera name or index when `camera` is a calibration file of several cameras. */
  cam?: string;
  out: string;
  background?: string;
  raw?: string;
  /** Overwrite existing outputs. */
  force?: boolean;
  /** JPEG quality (default 95). */
  quality?: number;
}

/** A render camera from a camera JSON or a calibration JSON (+ camera name/index). */
export function readCamera(path: string, cam?: string): Camera {
  const c = readCameraJson(path, cam);
  return { width: c.width, height: c.height, K: c.K, R: c.R, T: c.T };
}

export function parseBackground(s: string | undefined): [number, number, number] {
  if (s === undefined) return [0, 0, 0];
  const v = s.split(',').map((x) => (x.trim() === '' ? NaN : Number(x.trim())));
  if (v.length !== 3 || !v.every((x) => Number.isFinite(x) && x >= 0 && x <= 1)) {
    throw new InputError(`--background must be three numbers in [0, 1] like 1,1,1 (got '${s}')`);
  }
  return v as [number, number, number];
}

export async function render(args: RenderArgs, log: (s: string) => void = console.log): Promise<void> {
  // every input and output is checked before any GPU work
  const bg = parseBackground(args.background);
  if (!imageFormatOf(args.out)) {
    throw new InputError(`--out ${args.out}: use a .png, .jpg or .jpeg file name (the format follows the extension)`);
  }
  if (args.raw !== undefined && !args.raw.toLowerCase().endsWith('.npz')) {
    throw new InputError(`--raw ${args.raw}: use a .npz file name`);
  }
  const camera = readCamera(args.camera, args.cam);
  const scene = plyToScene(readPly(args.scene));
  checkOutputFile(args.out, { force: !!args.force, what: 'image' });
  if (args.raw) checkOutputFile(args.raw, { force: !!args.force, what: 'raw output' });
  const gpu = await getGpu();
  const t0 = performance.now();
  const img = await renderScene(gpu, scene, camera, bg);
  const ms = performance.now() - t0;
  const { width: W, height: H } = img;
  for (const [name, a] of [
    ['colour', img.color],
    ['alpha', img.alpha],
  ] as const) {
    for (let i = 0; i < a.length; i++) {
      if (!Number.isFinite(a[i]!)) throw new Error(`render: the rasterizer produced a non-finite ${name} at ${i}`);
    }
  }
  const rgb = planarToInterleaved8({ width: W, height: H, channels: 3, data: img.color });
  await writeImage8(args.out, W, H, 3, rgb, { quality: args.quality ?? 95 });
  if (args.raw) {
    writeNpz(args.raw, {
      color: { dtype: 'f4', shape: [3, H, W], data: img.color },
      depth: { dtype: 'f4', shape: [1, H, W], data: img.depth },
      alpha: { dtype: 'f4', shape: [1, H, W], data: img.alpha },
    });
  }
  const drawn = img.radii.reduce((s, r) => s + (r > 0 ? 1 : 0), 0);
  log(
    `rendered ${scene.count} Gaussians (${drawn} visible) at ${W}×${H} in ${ms.toFixed(0)} ms → ${args.out}${args.raw ? ` and ${args.raw}` : ''}`,
  );
}

export function registerRender(program: Command): void {
  program
    .command('render')
    .description(
      'render a standard 3DGS .ply scene from a camera: a camera JSON (width, height, K, R, T; OpenCV, ' +
        "world-to-camera) or a capture's calibration.json with --cam",
    )
    .argument('<scene.ply>', 'Gaussians in the standard 3DGS PLY layout')
    .requiredOption(
      '--camera <json>',
      'a camera {"width", "height", "K": 3×3, "R": 3×3 world→camera, "T": [3]} or a calibration.json (with --cam)',
    )
    .option('--cam <name|index>', 'which camera of a calibration file (e.g. cam00 or 0)')
    .requiredOption('--out <image>', 'output image: .png or .jpg/.jpeg (colour clipped to [0, 1])')
    .option('--background <R,G,B>', 'background colour, three floats in [0, 1]', '0,0,0')
    .option('--raw <out.npz>', 'also write float32 color (3×H×W), depth (1×H×W), alpha (1×H×W) as .npz')
    .option('--quality <q>', 'JPEG quality 1..100 (default 95)')
    .option('--force', 'overwrite existing output files')
    .action(
      async (
        scenePath: string,
        opts: {
          camera: string;
          cam?: string;
          out: string;
          background?: string;
          raw?: string;
          quality?: string;
          force?: boolean;
        },
      ) => {
        const quality = intOption(opts.quality, '--quality', { min: 1, max: 100 });
        await render({
          scene: scenePath,
          camera: opts.camera,
          out: opts.out,
          ...(opts.cam !== undefined ? { cam: opts.cam } : {}),
          ...(opts.background !== undefined ? { background: opts.background } : {}),
          ...(opts.raw !== undefined ? { raw: opts.raw } : {}),
          ...(quality !== undefined ? { quality } : {}),
          force: !!opts.force,
        });
      },
    );
}
