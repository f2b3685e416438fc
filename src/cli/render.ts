/** `animgs render <scene.ply> --camera <camera.json> --out <image.png>`: rasterize a 3DGS PLY from one camera. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import sharp from 'sharp';
import { getGpu } from '../gpu/index.js';
import { writeNpz } from '../io/npz.js';
import { validateCamera, type Camera } from '../splat/camera.js';
import { readPly, plyToScene } from '../splat/ply.js';
import { renderScene } from '../splat/rasterizer.js';

export interface RenderArgs {
  scene: string;
  camera: string;
  out: string;
  background?: string;
  raw?: string;
}

export function readCamera(path: string): Camera {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read camera ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not valid JSON: ${(e as Error).message}`);
  }
  return validateCamera(json, path);
}

export function parseBackground(s: string | undefined): [number, number, number] {
  if (s === undefined) return [0, 0, 0];
  const v = s.split(',').map((x) => Number(x.trim()));
  if (v.length !== 3 || !v.every((x) => Number.isFinite(x) && x >= 0 && x <= 1)) {
    throw new Error(`--background must be three numbers in [0, 1] like 1,1,1 (got '${s}')`);
  }
  return v as [number, number, number];
}

export async function render(args: RenderArgs, log: (s: string) => void = console.log): Promise<void> {
  const bg = parseBackground(args.background);
  const camera = readCamera(args.camera);
  const scene = plyToScene(readPly(args.scene));
  const gpu = await getGpu();
  const t0 = performance.now();
  const img = await renderScene(gpu, scene, camera, bg);
  const ms = performance.now() - t0;
  const { width: W, height: H } = img;
  const hw = W * H;
  const rgb = Buffer.alloc(3 * hw);
  for (let p = 0; p < hw; p++) {
    for (let c = 0; c < 3; c++) rgb[3 * p + c] = Math.round(Math.min(1, Math.max(0, img.color[c * hw + p]!)) * 255);
  }
  await sharp(rgb, { raw: { width: W, height: H, channels: 3 } })
    .png()
    .toFile(args.out);
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
      'render a standard 3DGS .ply scene from a camera (JSON: width, height, K, R, T; OpenCV, world-to-camera)',
    )
    .argument('<scene.ply>', 'Gaussians in the standard 3DGS PLY layout')
    .requiredOption('--camera <camera.json>', 'camera: {"width", "height", "K": 3×3, "R": 3×3 world→camera, "T": [3]}')
    .requiredOption('--out <image.png>', 'output PNG (colour clipped to [0, 1])')
    .option('--background <R,G,B>', 'background colour, three floats in [0, 1]', '0,0,0')
    .option('--raw <out.npz>', 'also write float32 color (3×H×W), depth (1×H×W), alpha (1×H×W) as .npz')
    .action(async (scenePath: string, opts: { camera: string; out: string; background?: string; raw?: string }) => {
      await render({ scene: scenePath, ...opts });
    });
}
