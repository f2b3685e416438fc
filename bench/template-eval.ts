/**
 * The measurements of issue 21 on the synthetic subject, helpers of bench/template-eval.sh (which runs the CLI
 * stages and calls these). Subcommands:
 *
 *   mesh -c template.yaml
 *       marching cubes of the latest template checkpoint to train.template_out (what `animgs template` does at its
 *       end; for a fit stopped at a time budget, without a second weight-volume/warp-table setup)
 *   coverage --data CAP --frames 1,3,5 --cams 7 --out coverage.json [--masks DIR]
 *       per view: the skirt's visible pixels (the synthetic clothed mesh of that frame, z-buffered, skirt faces,
 *       inside the photo's mask) and the subject mask; the fraction of each that the posed bare SMPL-X body, the posed
 *       fitted template (CAP/template.ply, vertex weights from CAP/cano_weight_volume.npz) and the subject's own
 *       clothed canonical body (the oracle template of bench/synth-template.ts, posed the same way) cover. Writes the
 *       skirt masks as DIR/<cam>/<frame>.png for `psnr`.
 *   psnr --views DIR --masks DIR --data CAP --out psnr.json
 *       from `animgs eval --save-images` panels (photo | avatar | baseline ...): PSNR over the full image, inside the
 *       subject mask and inside the skirt mask, avatar and baseline, per view and averaged
 *   train-until --budget-s S [--max-steps N] -- <animgs train arguments>
 *       runs `animgs train` (in one process, with the queue's progress channel) and stops it like Ctrl-C (a checkpoint)
 *       once its main loop has done N steps, or at S seconds from the start; prints {"steps": ..., "seconds": ...}
 *   rate LOG
 *       steps/s of a template fit from its time-stamped log (lines "<epoch s> template: fit N/T ...")
 *   summary DIR
 *       the compact table of DIR/results.json
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { canoToLive } from '../src/body/canonical.js';
import { canonicalParams } from '../src/body/canonical.js';
import { smplxForward } from '../src/body/forward.js';
import { loadSmplxModel } from '../src/body/node/files.js';
import { buildSyntheticBody, syntheticSmplxModel } from '../src/body/synthetic.js';
import { readCalibrationJson } from '../src/data/camera.js';
import { readSmplParams } from '../src/data/smpl-params.js';
import { MATERIAL } from '../src/data/synth/clothes.js';
import { bodyMaterials, clothedMesh } from '../src/data/synth/capture.js';
import { readGray, writeImage8 } from '../src/io/node/image.js';
import { loadSafetensors } from '../src/io/node/safetensors.js';
import { readPlyMesh, smplxCanonicalMesh } from '../src/prep/template.js';
import { loadTemplateConfig } from '../src/prep/template/config.js';
import { coverage, poseTemplate, silhouette, visibleLabels } from '../src/prep/template/coverage.js';
import { extractTemplate, piecesLine } from '../src/prep/template/fit.js';
import { pointBounds } from '../src/prep/template/geometry.js';
import { TemplateNet } from '../src/prep/template/sdf-net.js';
import { writeTemplatePly } from '../src/prep/template/template-mesh.js';
import { readWeightVolume } from '../src/prep/template/volume-file.js';
import { sampleWeightsMany } from '../src/prep/template/weight-volume.js';
import { gpu, initEngine } from '../src/tensor/index.js';

const args = process.argv.slice(2);
const cmd = args.shift();
function flag(name: string, dflt?: string): string {
  const i = args.indexOf(name);
  if (i >= 0 && i + 1 < args.length) return args[i + 1]!;
  if (dflt === undefined) throw new Error(`template-eval ${cmd}: ${name} is required`);
  return dflt;
}
const ids = (s: string) =>
  s
    .split(',')
    .filter((x) => x !== '')
    .map(Number);
const pad = (f: number) => String(f).padStart(8, '0');
const r4 = (x: number) => Math.round(x * 1e4) / 1e4;
const r2 = (x: number) => Math.round(x * 100) / 100;

/** Marching cubes of the latest checkpoint of a template fit (the canonical box and centre as fit.ts makes them). */
async function mesh(): Promise<void> {
  const path = flag('-c');
  const cfg = loadTemplateConfig(path, readFileSync(path, 'utf8'));
  const t0 = performance.now();
  await initEngine();
  const latest = JSON.parse(readFileSync(join(cfg.netCkptDir, 'latest.json'), 'utf8')) as {
    checkpoint: string;
    iteration: number;
  };
  const model = loadSmplxModel(cfg.smplxModel);
  const betas = readSmplParams(join(cfg.dataDir, 'smpl_params.npz')).betas;
  const bodyBox = pointBounds(smplxCanonicalMesh(model, betas).positions);
  const m = [0.05, 0.05, 0.15];
  const canoBox = Float64Array.from(bodyBox, (v, k) => v + (k < 3 ? -m[k]! : m[k - 3]!));
  const center = Float64Array.from([0, 1, 2], (k) => (bodyBox[k]! + bodyBox[3 + k]!) / 2);
  const net = TemplateNet.create(cfg.net, () => 0.5);
  const w = loadSafetensors(join(cfg.netCkptDir, latest.checkpoint, 'template.safetensors')).tensors;
  for (const [k, t] of net.parameters()) {
    const a = w.get(k);
    if (!a || a.data.length !== t.size) throw new Error(`${latest.checkpoint}: no '${k}' of ${t.size} values`);
    gpu().upload(t.buffer, a.data as Float32Array);
  }
  const { mesh: out, stats } = await extractTemplate(net, canoBox, cfg.mcResolution, center);
  console.log(`mesh: ${piecesLine(stats)}`);
  writeTemplatePly(cfg.templateOut, out);
  net.dispose();
  console.log(
    `mesh: step ${latest.iteration} -> ${cfg.templateOut}: ${out.positions.length / 3} vertices, ` +
      `${out.faces.length / 3} triangles at ${cfg.mcResolution.join('x')} in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
}

interface Cover {
  covered: number;
  excess: number;
}
const sumCover = (rows: { pixels: number; cover: Cover }[]) => {
  const n = rows.reduce((a, r) => a + r.pixels, 0);
  return n ? rows.reduce((a, r) => a + r.pixels * r.cover.covered, 0) / n : NaN;
};

async function coverageCmd(): Promise<void> {
  const cap = flag('--data');
  const frames = ids(flag('--frames'));
  const camIds = ids(flag('--cams'));
  const outPath = flag('--out');
  const maskDir = flag('--masks', '');
  const t0 = performance.now();
  const cams = readCalibrationJson(join(cap, 'calibration.json'));
  const smpl = readSmplParams(join(cap, 'smpl_params.npz'));
  const model = loadSmplxModel(join(cap, 'smplx_model.npz'));
  const body = buildSyntheticBody();
  const synthModel = syntheticSmplxModel(body);
  const materials = bodyMaterials(body.vertexPart, synthModel.vTemplate, synthModel.jTemplate);
  const volPath = join(cap, 'cano_weight_volume.npz');
  const vol = existsSync(volPath) ? readWeightVolume(volPath) : null;
  // the templates in the canonical space: the fitted one, and the subject's own clothed body (the oracle)
  const templates: { name: string; positions: ArrayLike<number>; faces: ArrayLike<number>; weights: Float64Array }[] =
    [];
  if (vol && existsSync(join(cap, 'template.ply'))) {
    const t = readPlyMesh(join(cap, 'template.ply'));
    templates.push({
      name: 'fitted',
      positions: t.positions,
      faces: t.faces,
      weights: sampleWeightsMany(vol, t.positions),
    });
    console.log(`coverage: fitted template ${t.positions.length / 3} vertices`);
  } else console.log(`coverage: no template.ply / cano_weight_volume.npz in ${cap}: the bare body only`);
  if (vol) {
    const { mesh: own } = clothedMesh(synthModel, canonicalParams(smpl.frame(frames[0] ?? 0)), materials);
    templates.push({
      name: 'oracle',
      positions: own.positions,
      faces: own.indices,
      weights: sampleWeightsMany(vol, own.positions),
    });
  }
  type Row = { frame: number; camera: string; skirtPixels: number; maskPixels: number } & Record<
    string,
    number | string | Cover
  >;
  const rows: Row[] = [];
  for (const f of frames) {
    const params = smpl.frame(f);
    const c2l = canoToLive(model, params);
    const bare = smplxForward(model, params, { vertices: true }).vertices!;
    const posed = templates.map((t) => poseTemplate(t.positions, t.weights, c2l.jointMats));
    const { mesh: clothed } = clothedMesh(synthModel, params, materials);
    const faceLabel = new Int8Array(clothed.indices.length / 3);
    for (let i = 0; i < faceLabel.length; i++) faceLabel[i] = clothed.material[clothed.indices[3 * i]!]!;
    for (const c of camIds) {
      const cam = cams[c]!;
      const gray = await readGray(join(cap, 'masks', cam.name, `${pad(f)}.jpg`));
      const mask = Uint8Array.from(gray.data, (v) => (v > 128 ? 1 : 0));
      const labels = visibleLabels(clothed.positions, clothed.indices, faceLabel, cam);
      const skirt = Uint8Array.from(labels, (l, i) => (l === MATERIAL.skirt && mask[i] ? 1 : 0));
      if (maskDir) {
        mkdirSync(join(maskDir, cam.name), { recursive: true });
        await writeImage8(
          join(maskDir, cam.name, `${pad(f)}.png`),
          cam.width,
          cam.height,
          1,
          skirt.map((v) => v * 255),
        );
      }
      const row: Row = {
        frame: f,
        camera: cam.name,
        skirtPixels: skirt.reduce((a, v) => a + v, 0),
        maskPixels: mask.reduce((a, v) => a + v, 0),
      };
      const sils: [string, Uint8Array][] = [
        ['bare', silhouette(bare, model.faces, cam)],
        ...templates.map((t, k): [string, Uint8Array] => [t.name, silhouette(posed[k]!, t.faces, cam)]),
      ];
      for (const [name, sil] of sils) {
        row[`${name}Skirt`] = coverage(sil, skirt);
        row[`${name}Mask`] = coverage(sil, mask);
      }
      rows.push(row);
      const pct = (c: unknown) => `${(100 * (c as Cover).covered).toFixed(1)}%`;
      console.log(
        `coverage: frame ${f} ${cam.name}: skirt ${row.skirtPixels} px covered ${sils.map(([n]) => `${n} ${pct(row[`${n}Skirt`])}`).join(', ')}; ` +
          `mask ${sils.map(([n]) => `${n} ${pct(row[`${n}Mask`])}`).join(', ')}`,
      );
    }
  }
  const names = ['bare', ...templates.map((t) => t.name)];
  const summary: Record<string, unknown> = {
    views: rows.length,
    skirtPixels: rows.reduce((a, r) => a + r.skirtPixels, 0),
  };
  for (const n of names) {
    const skirtRows = rows.filter((r) => r.skirtPixels > 0);
    summary[n] = {
      skirtCovered: r4(sumCover(skirtRows.map((r) => ({ pixels: r.skirtPixels, cover: r[`${n}Skirt`] as Cover })))),
      maskCovered: r4(sumCover(rows.map((r) => ({ pixels: r.maskPixels, cover: r[`${n}Mask`] as Cover })))),
      maskExcess: r4(rows.reduce((a, r) => a + (r[`${n}Mask`] as Cover).excess, 0) / rows.length),
    };
  }
  const report = {
    what: 'fraction of skirt pixels (visible skirt faces of the synthetic clothed mesh, inside the photo mask) and of mask pixels covered by the posed silhouette, pooled over the views; maskExcess: mean fraction of the silhouette outside the mask',
    frames,
    cams: camIds.map((c) => cams[c]!.name),
    summary,
    rows,
    seconds: r2((performance.now() - t0) / 1000),
  };
  writeFileSync(outPath, JSON.stringify(report, null, 1));
  console.log(`coverage: ${JSON.stringify(summary)} (${report.seconds} s)`);
}

async function readPng(path: string): Promise<{ width: number; height: number; data: Uint8Array; channels: number }> {
  const { data, info } = await sharp(path).raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: info.channels, data: new Uint8Array(data) };
}

const psnrOf = (sse: number, n: number) => (n ? -10 * Math.log10(sse / n) : NaN);

async function psnrCmd(): Promise<void> {
  const viewsDir = flag('--views');
  const masksDir = flag('--masks');
  const cap = flag('--data');
  const outPath = flag('--out');
  const files = readdirSync(viewsDir)
    .filter((f) => /^\d{8}_.+\.png$/.test(f))
    .sort();
  if (!files.length) throw new Error(`psnr: no eval views (*.png) in ${viewsDir}`);
  const regions = ['full', 'subject', 'skirt'] as const;
  const panels = ['avatar', 'baseline'] as const;
  type Acc = { sse: number; n: number };
  const pooled = Object.fromEntries(
    panels.map((p) => [p, Object.fromEntries(regions.map((r) => [r, { sse: 0, n: 0 } as Acc]))]),
  ) as Record<(typeof panels)[number], Record<(typeof regions)[number], Acc>>;
  const rows: Record<string, unknown>[] = [];
  for (const file of files) {
    const [frameS, camRest] = [file.slice(0, 8), file.slice(9, -4)];
    const skirt = await readGray(join(masksDir, camRest, `${frameS}.png`));
    const subject = await readGray(join(cap, 'masks', camRest, `${frameS}.jpg`));
    const img = await readPng(join(viewsDir, file));
    const W = skirt.width,
      H = skirt.height,
      C = img.channels;
    if (img.height !== H || img.width % W !== 0 || img.width / W < 3)
      throw new Error(`psnr: ${file} is ${img.width}x${img.height}, not photo | avatar | baseline panels of ${W}x${H}`);
    const k = img.width / W;
    const row: Record<string, unknown> = { frame: Number(frameS), camera: camRest };
    for (const [pi, p] of panels.entries()) {
      const acc = Object.fromEntries(regions.map((r) => [r, { sse: 0, n: 0 } as Acc])) as Record<string, Acc>;
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++) {
          const i = y * W + x;
          const o0 = (y * k * W + x) * C,
            o1 = (y * k * W + (pi + 1) * W + x) * C;
          let e = 0;
          for (let c = 0; c < 3; c++) {
            const d = (img.data[o1 + c]! - img.data[o0 + c]!) / 255;
            e += d * d;
          }
          const add = (a: Acc) => {
            a.sse += e;
            a.n += 3;
          };
          add(acc['full']!);
          if (subject.data[i]! > 128) add(acc['subject']!);
          if (skirt.data[i]! > 127) add(acc['skirt']!);
        }
      const scores: Record<string, number> = {};
      for (const r of regions) {
        scores[r] = r2(psnrOf(acc[r]!.sse, acc[r]!.n));
        pooled[p][r].sse += acc[r]!.sse;
        pooled[p][r].n += acc[r]!.n;
      }
      scores['skirtPixels'] = acc['skirt']!.n / 3;
      row[p] = scores;
    }
    rows.push(row);
  }
  const meanOf = (p: string, r: string) => {
    const xs = rows.map((row) => (row[p] as Record<string, number>)[r]!).filter((v) => Number.isFinite(v));
    return xs.length ? r2(xs.reduce((a, b) => a + b, 0) / xs.length) : NaN;
  };
  const summary = Object.fromEntries(
    panels.map((p) => [
      p,
      Object.fromEntries(
        regions.flatMap((r) => [
          [r, meanOf(p, r)],
          [`${r}Pooled`, r2(psnrOf(pooled[p][r].sse, pooled[p][r].n))],
        ]),
      ),
    ]),
  );
  const report = {
    what: 'PSNR (dB, on white, 8-bit) of the eval panels vs the photo: mean over views of per-view PSNR, and pooled (one MSE over all views) — full image, inside the photo mask, inside the visible-skirt mask',
    views: rows.length,
    summary,
    rows,
  };
  writeFileSync(outPath, JSON.stringify(report, null, 1));
  console.log(`psnr: ${rows.length} views: ${JSON.stringify(summary)}`);
}

/**
 * The fit's timing from its time-stamped log ("<epoch s> <line>"): setup (start → "frame F, K cameras"), steps/s
 * over the progress lines ("template: fit N/T", first to last, so start-up is excluded), the step reached, the
 * marching cubes (the CLI's own, or `--mesh-seconds` of a separate `mesh`), and the last losses it printed.
 */
function rateCmd(): void {
  const log = args[0]!;
  const t0 = Number(flag('--t0'));
  const meshSeparate = Number(flag('--mesh-seconds', '0'));
  const lines = readFileSync(log, 'utf8')
    .split('\n')
    .map((l) => /^(\d+(?:\.\d+)?) (.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ t: Number(m[1]), text: m[2]! }));
  const at = (re: RegExp) => lines.find((l) => re.test(l.text));
  const prog = lines
    .map((l) => ({ t: l.t, m: /^template: fit (\d+)\/(\d+)/.exec(l.text) }))
    .filter((x) => x.m)
    .map((x) => ({ t: x.t, step: Number(x.m![1]) }));
  const setupEnd = at(/^template: frame \d+, \d+ cameras/);
  const end = at(/^template: (stopped|done) at step \d+/);
  const mc0 = at(/^template: marching cubes/);
  const mc1 = at(/^template: .*\.ply: \d+ vertices/);
  const reached = end ? Number(/at step (\d+)/.exec(end.text)![1]) : prog.length ? prog[prog.length - 1]!.step : null;
  let rate: number | null = null;
  if (prog.length >= 2) {
    const a = prog[0]!,
      b = prog[prog.length - 1]!;
    if (b.t > a.t) rate = (b.step - a.step) / (b.t - a.t);
  }
  const lossLines = lines.filter((l) => /^template: step \d+\/\d+: color/.test(l.text)).map((l) => l.text.slice(10));
  const r1 = (x: number | null | undefined) => (x === null || x === undefined ? null : Math.round(x * 10) / 10);
  const fitEnd = end ?? lines[lines.length - 1];
  const report = {
    steps: reached,
    stepsPerSecond: rate === null ? null : Math.round(rate * 1000) / 1000,
    setupSeconds: setupEnd ? r1(setupEnd.t - t0) : null,
    fitSeconds: setupEnd && fitEnd ? r1(fitEnd.t - setupEnd.t) : null,
    meshSeconds: mc0 && mc1 ? r1(mc1.t - mc0.t) : meshSeparate || null,
    minutesFor14k: rate ? Math.round((14000 / rate / 60) * 10) / 10 : null,
    setup: lines
      .filter((l) => /weight volume|root finding|converged|^template: frame \d+: /.test(l.text))
      .map((l) => `${r1(l.t - t0)} s: ${l.text.replace(/^template: /, '')}`),
    losses: lossLines.length ? [lossLines[0], lossLines[lossLines.length - 1]] : [],
  };
  writeFileSync(flag('--out'), JSON.stringify(report, null, 1));
  console.log(`   template: ${JSON.stringify(report)}`);
}

function readJson(path: string): any | null {
  // eslint-disable-line @typescript-eslint/no-explicit-any
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}

/** Gather DIR's pieces into DIR/results.json and print the compact table. */
function summaryCmd(): void {
  const dir = args[0]!;
  const mean = (xs: number[]) => (xs.length ? r2(xs.reduce((a, b) => a + b, 0) / xs.length) : null);
  const avatar = (v: string) => {
    const metrics = readJson(join(dir, `metrics-${v}.json`));
    const log = existsSync(join(dir, `train-${v}.log`)) ? readFileSync(join(dir, `train-${v}.log`), 'utf8') : '';
    const prep = existsSync(join(dir, `prep-${v}.log`)) ? readFileSync(join(dir, `prep-${v}.log`), 'utf8') : '';
    const rates = [...log.matchAll(/^train (\d+)\/\d+: .*; ([\d.]+) steps\/s/gm)].map((m) => Number(m[2]));
    const views = (metrics?.views ?? []) as { psnr: number; novelPose: boolean }[];
    return {
      steps: readJson(join(dir, `train-${v}.steps`)),
      gaussians: Number(/(\d+) Gaussians/.exec(prep)?.[1]) || null,
      mainStepsPerSecond: rates.length ? rates[rates.length - 1] : null,
      eval: metrics
        ? {
            views: views.length,
            psnr: r2(metrics.mean.psnr),
            baselinePsnr: r2(metrics.mean.baseline.psnr),
            ssim: metrics.mean.ssim,
            novelPosePsnr: mean(views.filter((x) => x.novelPose).map((x) => x.psnr)),
            trainPosePsnr: mean(views.filter((x) => !x.novelPose).map((x) => x.psnr)),
          }
        : null,
      psnr: readJson(join(dir, `psnr-${v}.json`))?.summary ?? null,
    };
  };
  const stages: Record<string, unknown> = {};
  if (existsSync(join(dir, 'stages.tsv')))
    for (const l of readFileSync(join(dir, 'stages.tsv'), 'utf8').split('\n').filter(Boolean)) {
      const [name, status, seconds, note] = l.split('\t');
      stages[name!] = { status, seconds: Number(seconds), ...(note ? { note } : {}) };
    }
  const r = {
    settings: readJson(join(dir, 'settings.json')),
    template: readJson(join(dir, 'template.json')),
    coverage: readJson(join(dir, 'coverage.json'))?.summary ?? null,
    avatars: { tpl: avatar('tpl'), bare: avatar('bare'), oracle: avatar('oracle') },
    stages,
  };
  writeFileSync(join(dir, 'results.json'), JSON.stringify(r, null, 1));
  const pct = (x: unknown) => (typeof x === 'number' ? `${(100 * x).toFixed(1)}%` : 'n/a');
  const db = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? `${x.toFixed(2)}` : 'n/a');
  const num = (x: unknown, d = 1) => (typeof x === 'number' ? x.toFixed(d) : 'n/a');
  // settings.json: each stage's knobs; the stages that ran with the same knobs are listed together
  const groups = new Map<string, string[]>();
  for (const [stage, knobs] of Object.entries((r.settings ?? {}) as Record<string, unknown>)) {
    const k = JSON.stringify(knobs);
    groups.set(k, [...(groups.get(k) ?? []), stage]);
  }
  const L: string[] = [
    '=== issue 21 on the synthetic subject: ' +
      ([...groups].map(([k, stages]) => `${stages.join(', ')}: ${k}`).join('; ') || 'no settings recorded'),
  ];
  const t = r.template;
  if (t)
    L.push(
      `(c) template fit (${(t.setup as string[]).find((l) => / frame \d+: /.test(l))?.replace(/^[\d.]+ s: /, '') ?? 'frame ?'}): ` +
        `${t.steps ?? '?'} steps, ${num(t.stepsPerSecond, 2)} steps/s (${num(t.fitSeconds)} s of fitting); ` +
        `setup ${num(t.setupSeconds)} s (weight volume + warp table + images), mesh ${num(t.meshSeconds)} s; ` +
        `14k steps: ${num(t.minutesFor14k)} min of fitting, ${typeof t.minutesFor14k === 'number' ? ((t.minutesFor14k * 60 + (t.setupSeconds ?? 0) + (t.meshSeconds ?? 0)) / 60).toFixed(1) : 'n/a'} min with setup and mesh. ` +
        `Losses ${t.losses.join(' -> ') || 'n/a'}`,
    );
  else L.push('(c) template fit: not measured');
  const c = r.coverage;
  if (c)
    L.push(
      `(a) skirt pixels covered (${c.views} held-out views, ${c.skirtPixels} px): bare SMPL-X ${pct(c.bare?.skirtCovered)}, ` +
        `fitted template ${pct(c.fitted?.skirtCovered)}, the subject's clothed canonical body ${pct(c.oracle?.skirtCovered)}; ` +
        `whole mask ${pct(c.bare?.maskCovered)} / ${pct(c.fitted?.maskCovered)} / ${pct(c.oracle?.maskCovered)}; ` +
        `silhouette outside the mask ${pct(c.bare?.maskExcess)} / ${pct(c.fitted?.maskExcess)} / ${pct(c.oracle?.maskExcess)}`,
    );
  else L.push('(a) coverage: not measured');
  L.push(
    '(b) PSNR dB on the held-out camera | all views | novel poses | training poses | in mask | in skirt (pooled) | baseline all / skirt',
  );
  for (const [v, label] of [
    ['bare', 'bare SMPL-X'],
    ['tpl', 'fitted tpl'],
    ['oracle', 'own body'],
  ] as const) {
    const a = r.avatars[v];
    if (v === 'oracle' && !a.eval && !a.steps) continue; // ORACLE=0
    const p = a.psnr;
    L.push(
      `    ${label.padEnd(11)} ${String(a.steps ?? '?').padStart(6)} steps, ${String(a.gaussians ?? '?').padStart(7)} G | ` +
        `${db(a.eval?.psnr)} | ${db(a.eval?.novelPosePsnr)} | ${db(a.eval?.trainPosePsnr)} | ${db(p?.avatar?.subject)} | ` +
        `${db(p?.avatar?.skirt)} (${db(p?.avatar?.skirtPooled)}) | ${db(a.eval?.baselinePsnr)} / ${db(p?.baseline?.skirt)}`,
    );
  }
  const A = r.avatars;
  for (const [v, label] of [
    ['tpl', 'fitted'],
    ['oracle', 'own body'],
  ] as const) {
    const t = A[v];
    // an avatar trained for another number of steps (a stale result of an earlier call) is not compared
    if (t.eval && A.bare.eval && t.steps !== A.bare.steps) {
      L.push(`    ${label} - bare: not compared (${t.steps ?? '?'} vs ${A.bare.steps ?? '?'} steps)`);
      continue;
    }
    if (t.eval && A.bare.eval && t.psnr && A.bare.psnr)
      L.push(
        `    ${label} - bare: all ${(t.eval.psnr - A.bare.eval.psnr).toFixed(2)} dB, skirt ` +
          `${(t.psnr.avatar.skirt - A.bare.psnr.avatar.skirt).toFixed(2)} dB (pooled ${(t.psnr.avatar.skirtPooled - A.bare.psnr.avatar.skirtPooled).toFixed(2)}), ` +
          `in mask ${(t.psnr.avatar.subject - A.bare.psnr.avatar.subject).toFixed(2)} dB`,
      );
    // by view: where (which poses) the difference comes from
    const rowsOf = (x: string) =>
      (readJson(join(dir, `psnr-${x}.json`))?.rows ?? []) as {
        frame: number;
        avatar: { full: number; skirt: number };
      }[];
    const [rt, rb] = [rowsOf(v), rowsOf('bare')];
    if (rt.length && rt.length === rb.length)
      L.push(
        `    ${label} - bare by frame (all/skirt dB): ` +
          rt
            .map((x, i) => {
              const d = (a: number, b: number) => `${a - b >= 0 ? '+' : ''}${(a - b).toFixed(1)}`;
              return `${x.frame} ${d(x.avatar.full, rb[i]!.avatar.full)}/${d(x.avatar.skirt, rb[i]!.avatar.skirt)}`;
            })
            .join(', '),
      );
  }
  L.push(
    'stages: ' +
      Object.entries(stages)
        .map(([k, v]) => `${k} ${(v as { status: string }).status} ${(v as { seconds: number }).seconds} s`)
        .join(', '),
  );
  console.log(L.join('\n'));
}

/**
 * `animgs train` stopped at a step count or a time budget: the command runs as a child with an IPC channel (as a
 * queue job does), which reports every step; at the limit the child gets SIGINT and stops after its step with a
 * checkpoint (a step or two past the limit: the report arrives while the next step runs).
 */
async function trainUntil(): Promise<void> {
  const sep = args.indexOf('--');
  if (sep < 0) throw new Error('train-until: the animgs arguments follow --');
  const budget = Number(flag('--budget-s'));
  const maxSteps = Number(flag('--max-steps', '0')) || Infinity;
  const cliArgs = args.slice(sep + 1);
  const t0 = performance.now();
  const child = spawn(process.execPath, cliArgs, {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ANIMGS_NO_FILTER: '1', ANIMGS_QUEUE_JOB: 'template-eval' },
  });
  let stage = '';
  let done = 0;
  let stopAt: { step: number; seconds: number; why: string } | null = null;
  const stop = (why: string) => {
    if (stopAt) return;
    stopAt = { step: done, seconds: (performance.now() - t0) / 1000, why };
    child.kill('SIGINT');
  };
  child.on('message', (m: { type?: string; label?: string; done?: number }) => {
    if (m?.type !== 'animgs-progress') return;
    stage = m.label ?? stage;
    done = m.done ?? done;
    if (stage === 'train' && done >= maxSteps) stop(`${maxSteps} main steps`);
  });
  const timer = setInterval(() => {
    const el = (performance.now() - t0) / 1000;
    if (el >= budget) stop(`the ${budget} s budget (in ${stage || 'start-up'})`);
    if (el >= budget + 120) child.kill('SIGKILL');
  }, 250);
  const code = await new Promise<number>((res) => child.on('close', (c, sig) => res(c ?? (sig ? 128 : 1))));
  clearInterval(timer);
  const result = {
    stage,
    steps: stage === 'train' ? done : 0,
    seconds: Math.round((performance.now() - t0) / 100) / 10,
    stoppedFor: (stopAt as { why: string } | null)?.why ?? null,
    exit: code,
  };
  console.log(`train-until: ${JSON.stringify(result)}`);
}

const run = async () => {
  if (cmd === 'mesh') await mesh();
  else if (cmd === 'coverage') await coverageCmd();
  else if (cmd === 'psnr') await psnrCmd();
  else if (cmd === 'train-until') await trainUntil();
  else if (cmd === 'rate') rateCmd();
  else if (cmd === 'summary') summaryCmd();
  else throw new Error(`usage: template-eval.js mesh|coverage|psnr|train-until|rate|summary ...`);
};
run().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(`template-eval ${cmd}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(1);
  },
);
