/**
 * The CPU side of one `animgs template` step, part by part, and the setup (prepareScene: the posed → canonical
 * table's root finding above all), at the reference's sizes (1024 rays × 64 samples, 4096 eikonal points, a 128³
 * weight volume, the table at 2 cm as measured on the H200) on a small synthetic capture (`animgs synth`, made on the first run).
 *
 *   npx tsc -p tsconfig.bench.json && node dist-bench/bench/template-step.js [capture dir] [--steps N] [--cell M]
 *
 * Parts (ms per step, mean over N steps after 3 warm-up ones):
 *   sample   sampleRays: pixels, ray-box intervals, stratified samples through the warp table
 *   eik      the eikonal points and their forward-difference copies
 *   encode   the positional encoding of all points on the CPU (float64 → float32; the reference kept for tests)
 *   upload   what the step does on the CPU for the GPU encoding: Tensor of xyz + the encoding kernel's dispatch
 *            (only when sdf-net.ts has encodePoints; the GPU's own time is not counted)
 *   render   renderRays + eikonal in float64 on synthetic SDF values and colours (the reference; the fit renders on the GPU)
 * The weight volume is made once and kept in the capture (cano_weight_volume.npz), so the setup times its reading.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { synthesizeCapture } from '../src/data/synth/capture.js';
import { getGpu } from '../src/gpu/index.js';
import { loadSmplxModel } from '../src/body/node/files.js';
import { loadTemplateConfig } from '../src/prep/template/config.js';
import { prepareScene, Rng, sampleRays } from '../src/prep/template/fit.js';
import * as sdfNet from '../src/prep/template/sdf-net.js';
import { eikonal, renderRays } from '../src/prep/template/volume-render.js';
import { beginScope, gpu, initEngine, Tensor } from '../src/tensor/index.js';

const args = process.argv.slice(2);
const opt = (n: string, d: number) => {
  const i = args.indexOf(n);
  return i >= 0 ? Number(args[i + 1]) : d;
};
const dir = resolve(
  args.find((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1]!.startsWith('--'))) ?? 'tmp/template-step-cap',
);
const STEPS = opt('--steps', 20);

const g = await getGpu();
await initEngine(g);
if (!existsSync(join(dir, 'synth.json'))) {
  mkdirSync(dir, { recursive: true });
  console.log(`synth: ${dir} (8 cameras, 128x128, 1 frame)`);
  await synthesizeCapture(g, { out: dir, cameras: 8, width: 128, height: 128, frames: 1, testFrames: 1, seed: 3 });
}
const yaml = `
train:
  dataset: MvRgbDatasetTHuman4
  data: {subject_name: synth, data_dir: ${dir}, frame_range: [0, 1, 1], mode: nerf}
  net_ckpt_dir: ${join(dir, 'template-fit')}
  end_epoch: 1
  ckpt_interval: {epoch: 500, batch: 1000}
  lr: {network: {type: Step, initial: 0.0005, interval: 40000, factor: 0.9, min: 0.00008}}
  loss_weight: {color: 1.0, mask: 1.0, eikonal: 0.1}
  warp_cell: ${opt('--cell', 0.02)}
model: {with_hand: true, volume_type: diff, use_root_finding: true, multires: 6, use_viewdir: false}
`;
const cfgPath = join(dir, 'template-step.yaml');
writeFileSync(cfgPath, yaml);
const cfg = loadTemplateConfig(cfgPath, readFileSync(cfgPath, 'utf8'));
const model = loadSmplxModel(cfg.smplxModel);

const report: Record<string, unknown> = { rays: cfg.rays, samples: cfg.samples, eikonalPoints: cfg.eikonalPoints };
const t0 = performance.now();
let tTable = 0,
  tTableEnd = 0;
const scene = await prepareScene(cfg, model, (l) => {
  const t = performance.now();
  if (/^posed -> canonical table/.test(l)) tTable = t;
  if (/nodes converged/.test(l)) tTableEnd = t;
  console.log(`  ${((t - t0) / 1000).toFixed(1)} s: ${l}`);
});
const setup = performance.now() - t0;
report.setup = {
  totalS: +(setup / 1000).toFixed(2),
  tableS: +((tTableEnd - tTable) / 1000).toFixed(2),
  dims: scene.warp.dims,
  converged: +scene.warp.converged.toFixed(4),
};
console.log(`setup ${JSON.stringify(report.setup)}`);

const rng = new Rng(1);
const M = cfg.eikonalPoints;
const h = cfg.eikonalStep;
const parts = { sample: 0, eik: 0, encode: 0, upload: 0, render: 0 };
const encodePoints = (sdfNet as Record<string, unknown>).encodePoints as
  ((pts: Float64Array, center: ArrayLike<number>, multires: number) => Tensor) | undefined;
for (let s = 0; s < STEPS + 3; s++) {
  const count = s >= 3;
  const view = scene.views[s % scene.views.length]!;
  let t = performance.now();
  const batch = sampleRays(scene, view, cfg.rays, cfg.samples, rng);
  const N = batch.rays * batch.samples;
  let u = performance.now();
  if (count) parts.sample += u - t;
  t = u;
  const pts = new Float64Array((N + 4 * M) * 3);
  pts.set(batch.canonical, 0);
  const cb = scene.canoBox;
  for (let m = 0; m < M; m++) {
    const o = 3 * (N + m);
    if (m < M / 2) {
      const k = rng.int(N);
      for (let c = 0; c < 3; c++) pts[o + c] = batch.canonical[3 * k + c]!;
    } else for (let c = 0; c < 3; c++) pts[o + c] = cb[c]! + rng.next() * (cb[3 + c]! - cb[c]!);
    for (let k = 0; k < 3; k++)
      for (let c = 0; c < 3; c++) pts[3 * (N + (k + 1) * M + m) + c] = pts[o + c]! + (c === k ? h : 0);
  }
  u = performance.now();
  if (count) parts.eik += u - t;
  t = u;
  const enc = sdfNet.positionalEncoding(pts, scene.canoCenter, cfg.net.multires);
  u = performance.now();
  if (count) parts.encode += u - t;
  if (enc.length !== (N + 4 * M) * sdfNet.encodingWidth(cfg.net.multires)) throw new Error('encoding size');
  if (encodePoints) {
    const sc = beginScope();
    t = performance.now();
    encodePoints(pts, scene.canoCenter, cfg.net.multires);
    u = performance.now();
    if (count) parts.upload += u - t;
    sc.end();
    await gpu().sync();
  }
  // synthetic network outputs: a sphere's SDF around the encoding's centre, colours from the generator
  const sdf = new Float32Array(N + 4 * M);
  for (let i = 0; i < N + 4 * M; i++)
    sdf[i] =
      Math.hypot(
        pts[3 * i]! - scene.canoCenter[0]!,
        pts[3 * i + 1]! - scene.canoCenter[1]!,
        pts[3 * i + 2]! - scene.canoCenter[2]!,
      ) - 0.4;
  const col = new Float32Array(3 * N);
  for (let i = 0; i < col.length; i++) col[i] = rng.next();
  t = performance.now();
  const rr = renderRays(
    {
      rays: batch.rays,
      samples: batch.samples,
      sdf: sdf.subarray(0, N),
      color: col,
      delta: batch.delta,
      targetColor: batch.targetColor,
      targetMask: batch.targetMask,
    },
    0.01,
    1,
    1,
  );
  const ek = eikonal(sdf.subarray(N), M, h, 0.1);
  const gs = new Float32Array(N + 4 * M);
  gs.set(rr.gradSdf, 0);
  gs.set(ek.grad, N);
  Float32Array.from(rr.gradColor);
  u = performance.now();
  if (count) parts.render += u - t;
}
const per = Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, +(v / STEPS).toFixed(1)]));
report.stepMs = per;
console.log(`per step (ms, mean of ${STEPS}): ${JSON.stringify(per)}`);
console.log(JSON.stringify(report));
