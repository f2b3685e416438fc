import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthesizeCapture } from '../../src/data/synth/capture.js';
import { getGpu } from '../../src/gpu/index.js';
import { decodePlyMesh } from '../../src/prep/template.js';
import { loadTemplateConfig, type TemplateConfig } from '../../src/prep/template/config.js';
import { fitTemplate, stepLr } from '../../src/prep/template/fit.js';
import { meshDefects } from '../../src/prep/template/marching.js';
import { initEngine } from '../../src/tensor/index.js';
import { loadSmplxModel } from '../../src/body/node/files.js';
import { readSmplParams } from '../../src/data/smpl-params.js';
import { prepare, prepParams } from '../../src/prep/prep.js';
import { readWeightVolume } from '../../src/prep/template/volume-file.js';
import { sampleWeights } from '../../src/prep/template/weight-volume.js';

const root = mkdtempSync(join(tmpdir(), 'animgs-tplfit-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const data = join(root, 'cap');

/** The reference's template.yaml keys with tiny sizes of ours. */
function config(extra = ''): TemplateConfig {
  const yaml = `
train:
  dataset: MvRgbDatasetTHuman4
  data: {subject_name: synth, data_dir: ${data}, frame_range: [0, 1, 1], used_cam_ids: [0, 1, 2], mode: nerf}
  net_ckpt_dir: ${join(root, 'fit')}
  prev_ckpt: null
  save_init_ckpt: false
  start_epoch: 0
  end_epoch: 1001
  ckpt_interval: {epoch: 500, batch: 10}
  eval_interval: 10000
  depth_guided_sampling: {flag: false, near_sur_dist: 0.05, N_ray_samples: 32}
  compute_grad: true
  lr: {network: {type: Step, initial: 0.005, interval: 40000, factor: 0.9, min: 0.00008}}
  loss_weight: {color: 1.0, mask: 1.0, eikonal: 0.1}
  batch_size: 1
  num_workers: 0
  rays: 128
  samples: 24
  eikonal_points: 64
  volume_res: 20
  warp_cell: 0.1
  mc_resolution: [20, 24, 12]
${extra}
model: {with_hand: true, volume_type: diff, use_root_finding: true, multires: 4, use_viewdir: false, multires_viewdir: 3,
        sdf_hidden: [32, 32, 32], skip_layer: 2, features: 8, color_hidden: [16]}
`;
  const path = join(root, 'template.yaml');
  writeFileSync(path, yaml);
  return loadTemplateConfig(path, readFileSync(path, 'utf8'));
}

beforeAll(async () => {
  const gpu = await getGpu();
  await initEngine(gpu);
  await synthesizeCapture(gpu, {
    out: data,
    cameras: 3,
    camerasAbove: 1,
    width: 40,
    height: 48,
    frames: 1,
    testFrames: 1,
    seed: 3,
  });
});

describe('template fit', () => {
  it('reads the reference keys and refuses unknown ones', () => {
    const cfg = config();
    expect(cfg.lossWeight).toEqual({ color: 1, mask: 1, eikonal: 0.1 });
    expect(cfg.usedCamIds).toEqual([0, 1, 2]);
    expect(cfg.notes.join(' ')).toContain('with_hand');
    expect(stepLr({ initial: 5e-4, interval: 40000, factor: 0.9, min: 8e-5 }, 80000)).toBeCloseTo(5e-4 * 0.81, 12);
    expect(() => config('  colour_weight: 3')).toThrow(/train.colour_weight: unknown key/);
    expect(cfg.frame).toBe('first');
    expect(config('  frame: auto').frame).toBe('auto');
    expect(config('  frame: 0').frame).toBe(0);
    expect(() => config('  frame: -2')).toThrow(/train.frame: -2 is not valid/);
  });

  // the uninterrupted 24 steps (first 20, then resumed to 24), which the stop-and-resume test below repeats
  let cfg: ReturnType<typeof config>;
  let more: Awaited<ReturnType<typeof fitTemplate>>;

  it('lowers its losses, checkpoints, resumes and writes a closed template.ply', async () => {
    cfg = config();
    const first = await fitTemplate(cfg, { iterations: 20, noMesh: true });
    expect(first.iterations).toBe(20);
    expect(existsSync(join(cfg.netCkptDir, 'latest.json'))).toBe(true);
    await expect(fitTemplate(cfg, { iterations: 24 })).rejects.toThrow(/--resume/);
    more = await fitTemplate(cfg, { iterations: 24, resume: true });
    expect(more.iterations).toBe(24);
    expect(more.losses.length).toBe(24);
    expect(more.losses.slice(0, 20)).toEqual(first.losses);
    // two epochs over the three cameras at the start against the last two
    const mean = (a: { total: number; color: number }[], k: 'total' | 'color') =>
      a.reduce((s, l) => s + l[k], 0) / a.length;
    const head = more.losses.slice(0, 6);
    const tail = more.losses.slice(-6);
    expect(mean(tail, 'total')).toBeLessThan(0.75 * mean(head, 'total'));
    expect(mean(tail, 'color')).toBeLessThan(mean(head, 'color'));
    expect(more.templatePath).toBe(cfg.templateOut);
    const mesh = decodePlyMesh(readFileSync(cfg.templateOut), cfg.templateOut);
    expect(mesh.faces.length).toBeGreaterThan(0);
    expect(meshDefects(mesh.faces)).toEqual({ openEdges: 0, flippedEdges: 0 });
  });

  it('stopped mid-way and resumed, repeats the uninterrupted fit', async () => {
    expect(more, 'needs the test above').toBeDefined();
    // stopped mid-way (the next step's samples already drawn while the GPU ran the last one), then resumed: the same
    const stopCfg = { ...cfg, netCkptDir: join(root, 'fit-stop') };
    let steps = 0;
    const part = await fitTemplate(stopCfg, {
      iterations: 24,
      noMesh: true,
      onStep: () => steps++,
      shouldStop: () => steps >= 13,
    });
    expect(part.stopped).toBe(true);
    expect(part.iterations).toBe(13);
    const rest = await fitTemplate(stopCfg, { iterations: 24, noMesh: true, resume: true });
    expect(rest.losses.slice(0, 13)).toEqual(part.losses);
    // what the steps draw (cameras, rays, samples) depends on the generator alone: the stopped and resumed run ends
    // in the generator state and camera order of the uninterrupted one, and repeats its losses
    const state = (dir: string) => {
      const name = (JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8')) as { checkpoint: string }).checkpoint;
      const st = JSON.parse(readFileSync(join(dir, name, 'state.json'), 'utf8')) as Record<string, unknown>;
      return { iteration: st.iteration, rng: st.rng, order: st.order };
    };
    expect(state(stopCfg.netCkptDir)).toEqual(state(cfg.netCkptDir));
    expect(state(stopCfg.netCkptDir).iteration).toBe(24);
    expect(rest.losses).toEqual(more.losses);
  });

  it('prep draws the maps from template.ply with per-pixel weights from the weight volume', async () => {
    const cfg = config();
    expect(existsSync(cfg.templateOut)).toBe(true);
    const model = loadSmplxModel(join(data, 'smplx_model.npz'));
    const opts = {
      dataDir: data,
      model,
      smpl: readSmplParams(join(data, 'smpl_params.npz')),
      size: 32,
      pcaComponents: 0,
      outDir: join(root, 'maps'),
      writeGaussianPly: false,
    };
    const res = await prepare(await getGpu(), opts);
    expect(res.template).toBe(cfg.templateOut);
    const maps = res.maps;
    expect(maps.pixels.length).toBeGreaterThan(0);
    const vol = readWeightVolume(cfg.weightVolume);
    const J = vol.joints;
    const w = new Float64Array(J);
    let worst = 0;
    for (let i = 0; i < maps.pixels.length; i += 3) {
      const o = maps.pixels[i]! * 3;
      sampleWeights(vol, maps.position[o]!, maps.position[o + 1]!, maps.position[o + 2]!, w);
      for (let j = 0; j < J; j++) worst = Math.max(worst, Math.abs(w[j]! - maps.weights[i * J + j]!));
    }
    expect(worst).toBeLessThan(1e-6);
    // the volume is one of the canonical stage's parameters: a new volume does not reuse these maps
    const stamp = prepParams(opts).canonical;
    expect(stamp.weightVolume).toBeDefined();
    const later = new Date(statSync(cfg.weightVolume).mtimeMs + 5000);
    utimesSync(cfg.weightVolume, later, later);
    expect(prepParams(opts).canonical).not.toEqual(stamp);
  });
});
