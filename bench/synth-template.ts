/**
 * An experiment for loose clothes (no production path): write the synthetic subject's own clothed body in the
 * canonical pose (the body with its skirt and sleeves, as `animgs synth` renders it) as `<capture>/template.ply`,
 * the ground-truth template a fitted one would approach. `animgs prep` then draws the Gaussian maps from it, so
 * an avatar trained on it shows what a template buys over the bare SMPL-X body.
 * Usage: node dist-bench/bench/synth-template.js <capture folder> [<out.ply> (default <capture>/template.ply)]
 */
import { join } from 'node:path';
import { buildSyntheticBody, syntheticSmplxModel } from '../src/body/synthetic.js';
import { canonicalParams } from '../src/body/canonical.js';
import { bodyMaterials, clothedMesh } from '../src/data/synth/capture.js';
import { readSmplParams } from '../src/data/smpl-params.js';
import { writeMesh } from '../src/io/node/mesh.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: synth-template.js <capture folder> [<out.ply>]');
const out = process.argv[3] ?? join(dir, 'template.ply');
const body = buildSyntheticBody();
const model = syntheticSmplxModel(body);
const frame0 = readSmplParams(join(dir, 'smpl_params.npz')).frame(0);
const materials = bodyMaterials(body.vertexPart, model.vTemplate, model.jTemplate);
const { mesh } = clothedMesh(model, canonicalParams(frame0), materials);
writeMesh(out, { positions: mesh.positions, faces: mesh.indices });
console.log(`${out}: ${mesh.positions.length / 3} vertices, ${mesh.indices.length / 3} faces`);
