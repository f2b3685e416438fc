/**
 * `animgs body synth` and `animgs body export`: write the synthetic SMPL-X-compatible body, and export the body
 * (rest, canonical or a frame of a pose file) as an OBJ/PLY mesh. Thin wrappers over src/body.
 */
import { Command, InvalidArgumentError } from 'commander';
import { bodyMesh } from '../body/mesh.js';
import { loadSmplxModel } from '../body/node/files.js';
import { frameParams } from '../body/poses.js';
import { readPoseSequence } from '../body/node/files.js';
import type { HandPoseType } from '../body/hands.js';
import type { SmplxParams } from '../body/forward.js';
import { buildSyntheticBody } from '../body/synthetic.js';
import { writeSyntheticBody } from '../body/node/files.js';
import { InputError } from '../io/errors.js';
import { writeMesh } from '../io/node/mesh.js';
import { checkOutputFile } from '../io/node/atomic.js';

const HAND_TYPES: HandPoseType[] = ['ori', 'fist', 'normal', 'zero'];

function nonNegativeInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a frame index (0, 1, 2, ...)');
  return n;
}

function handType(v: string): HandPoseType {
  if (!(HAND_TYPES as string[]).includes(v)) throw new InvalidArgumentError(`expected one of ${HAND_TYPES.join(', ')}`);
  return v as HandPoseType;
}

export interface ExportBodyOptions {
  model: string;
  out: string;
  poses?: string;
  frame?: number;
  canonical?: boolean;
  handPoseType?: HandPoseType;
  /** Overwrite an existing output. */
  force?: boolean;
}

/** Load the model (and a pose frame), pose it and write the mesh; returns a one-line summary. */
export function exportBody(o: ExportBodyOptions): string {
  if (!/\.(obj|ply)$/i.test(o.out)) throw new InputError(`--out ${o.out}: use a .obj or .ply file name`);
  if (o.frame !== undefined && !o.poses) throw new InputError('--frame needs --poses FILE');
  checkOutputFile(o.out, { force: !!o.force, what: 'mesh' });
  const model = loadSmplxModel(o.model);
  let params: SmplxParams = {};
  let what = o.canonical ? 'canonical pose' : 'rest pose';
  if (o.poses) {
    const frame = o.frame ?? 0;
    const seq = readPoseSequence(o.poses, { frameRange: [frame, frame + 1], handPoseType: o.handPoseType ?? 'ori' });
    params = frameParams(seq, 0);
    what = `${seq.format} frame ${frame} of ${o.poses}${o.canonical ? ' (its shape in the canonical pose)' : ''}`;
  }
  const mesh = bodyMesh(model, params, { canonical: o.canonical ?? false });
  const p = mesh.positions;
  for (let i = 0; i < p.length; i++) {
    if (!Number.isFinite(p[i]!)) {
      throw new InputError(
        `the posed body has a non-finite vertex ${Math.floor(i / 3)}: ${o.model}${o.poses ? ` or ${o.poses}` : ''} ` +
          `holds values that overflow (refusing to write ${o.out})`,
      );
    }
  }
  writeMesh(o.out, mesh);
  return `wrote ${o.out}: ${model.numVertices} vertices, ${model.faces.length / 3} faces (${what})`;
}

export function registerBodyCommands(program: Command): void {
  const body = program.command('body').description('SMPL-X body model tools: the synthetic body, mesh export');

  body
    .command('synth')
    .description('write the synthetic SMPL-X-compatible body model (.npz in the SMPL-X layout)')
    .requiredOption('--out <file>', 'output .npz, e.g. synthetic_smplx.npz')
    .option('--force', 'overwrite an existing file')
    .action((opts: { out: string; force?: boolean }) => {
      if (!opts.out.toLowerCase().endsWith('.npz')) throw new InputError(`--out ${opts.out}: use a .npz file name`);
      checkOutputFile(opts.out, { force: !!opts.force, what: 'body model' });
      const b = buildSyntheticBody();
      writeSyntheticBody(opts.out, b);
      const V = b.arrays['v_template']!.shape[0];
      console.log(`wrote ${opts.out}: synthetic body, ${V} vertices, 55 joints, 10 shape + 10 expression directions`);
    });

  body
    .command('export')
    .description('export the body as a mesh: rest pose, canonical pose, or a frame of a pose sequence')
    .requiredOption('--model <file>', 'SMPL-X model (.npz or .pkl; SMPLX_NEUTRAL or the synthetic body)')
    .requiredOption('--out <file>', 'output mesh (.obj or .ply)')
    .option('--poses <file>', 'pose sequence (smpl_params .npz, AMASS .npz or AIST++ .pkl)')
    .option('--frame <index>', 'frame of the pose sequence (default 0)', nonNegativeInt)
    .option('--canonical', 'the canonical pose (legs spread 25 degrees; the frame’s shape, jaw and expression)')
    .option('--hand-pose-type <type>', `hands: ${HAND_TYPES.join(' | ')} (default ori)`, handType)
    .option('--force', 'overwrite an existing file')
    .action((opts: ExportBodyOptions) => {
      console.log(exportBody(opts));
    });
}
