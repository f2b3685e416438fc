/**
 * Capture-data benchmark: the synthetic renderer (one 1024² view, 4x MSAA + 2x supersampling, readback included),
 * JPEG decode of a 1024² capture image through the loader (sharp), canonical maps at 1024² (raster + resolve), and
 * one posed position map (GPU skinning of the even pixels + readback) and its EXR write. `tiny` shrinks everything
 * for a lavapipe smoke run. Register in run.ts as ['data', './data.js', 'benchData'].
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canoToLive } from '../src/body/canonical.js';
import { buildSyntheticBody, syntheticSmplxModel } from '../src/body/synthetic.js';
import { CaptureDataset } from '../src/data/dataset.js';
import {
  bodyMaterials,
  clothedMesh,
  ringCameras,
  syntheticPalette,
  synthesizeCapture,
} from '../src/data/synth/capture.js';
import { trainingMotion } from '../src/data/synth/motion.js';
import { SynthRenderer } from '../src/data/synth/render.js';
import type { Gpu } from '../src/gpu/index.js';
import { writePoseMap } from '../src/prep/files.js';
import { canonicalMaps } from '../src/prep/maps.js';
import { PoseMapGpu, poseMapSampler } from '../src/prep/posemap.js';
import { smplxCanonicalMesh } from '../src/prep/template.js';
import { median, type BenchRow } from './table.js';

async function time(reps: number, f: () => Promise<unknown>): Promise<number> {
  await f();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await f();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

export async function benchData(gpu: Gpu, opts: { tiny: boolean }): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const size = opts.tiny ? 128 : 1024;
  const reps = opts.tiny ? 2 : 5;
  const body = buildSyntheticBody();
  const model = syntheticSmplxModel(body);
  const pose = trainingMotion(1, 1)[0]!;
  const { mesh } = clothedMesh(model, pose, bodyMaterials(body.vertexPart, model.vTemplate, model.jTemplate));
  const renderer = new SynthRenderer(gpu, syntheticPalette(1), 2);
  renderer.setMesh(mesh);
  const cam = ringCameras(1, 0, size, size)[0]!;
  rows.push({ bench: 'data', case: `synth view ${size}² msaa4 ss2`, ms: await time(reps, () => renderer.render(cam)) });
  renderer.dispose();

  const dir = mkdtempSync(join(tmpdir(), 'animgs-bench-data-'));
  try {
    await synthesizeCapture(gpu, {
      out: dir,
      cameras: 1,
      camerasAbove: 0,
      width: size,
      height: size,
      frames: 1,
      seed: 1,
    });
    const ds = new CaptureDataset({ layout: 'thuman4', dataDir: dir });
    rows.push({
      bench: 'data',
      case: `decode image+mask ${size}² (RGB f32 planar, band)`,
      ms: await time(reps, () => ds.load(ds.items[0]!, { bg: [1, 1, 1] })),
    });

    const mapSize = opts.tiny ? 128 : 1024;
    const cano = smplxCanonicalMesh(model);
    let maps = await canonicalMaps(gpu, cano, { size: mapSize });
    rows.push({
      bench: 'data',
      case: `canonical maps ${mapSize}x${2 * mapSize} (raster + resolve)`,
      ms: await time(reps, async () => (maps = await canonicalMaps(gpu, cano, { size: mapSize }))),
      note: `${maps.pixels.length} Gaussians`,
    });
    const sk = new PoseMapGpu(gpu, poseMapSampler(maps));
    const mats = canoToLive(model, pose).jointMatsWoRoot;
    let map = await sk.compute(mats);
    rows.push({
      bench: 'data',
      case: 'posed position map (GPU skin + readback)',
      ms: await time(reps, async () => (map = await sk.compute(mats))),
    });
    sk.dispose();
    rows.push({
      bench: 'data',
      case: `posed map EXR write ${mapSize / 2}x${mapSize} ZIP`,
      ms: await time(reps, async () => writePoseMap(dir, 0, map, mapSize)),
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
