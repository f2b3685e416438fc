/**
 * `animgs prep --out DIR` chains with the later commands: train.data.smpl_pos_map_dir tells training, animation and
 * evaluation where the maps are, `prep --config` writes there, and maps missing from where the config looks are one
 * error naming the file and both ways out.
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTrainConfig, posMapDirOf } from '../../src/avatar/config-file.js';
import { checkTrainedAvatar } from '../../src/avatar/load.js';
import { prepOptionsFromFlags } from '../../src/cli/prep.js';
import { selectViews } from '../../src/eval/views.js';
import { InputError } from '../../src/io/errors.js';
import { CANO_POS_EXR, POS_MAP_DIR } from '../../src/prep/files.js';
import { checkCapture } from '../../src/train/capture-check.js';
import { fixtureYaml, writeTrainingCapture } from '../train/capture-fixture.js';

let root: string;
let cap: string;
let maps: string;
let netPt: string;

/** The fixture's avatar.yaml, with `train.data.smpl_pos_map_dir` when `dir` is given. */
function writeConfig(name: string, dir?: string): string {
  let yaml = fixtureYaml(cap);
  if (dir !== undefined) {
    yaml = yaml.replace('    load_smpl_pos_map: true\n', `    load_smpl_pos_map: true\n    smpl_pos_map_dir: ${dir}\n`);
  }
  yaml = yaml.replace('model:\n', 'model:\n  preset: small\n');
  const path = join(root, name);
  writeFileSync(path, yaml);
  return path;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'animgs-posmapdir-'));
  cap = join(root, 'capture');
  await writeTrainingCapture(cap);
  // as if `animgs prep --data capture --out maps` had written them (a read-only dataset)
  maps = join(root, 'maps');
  renameSync(join(cap, POS_MAP_DIR), maps);
  netPt = join(root, 'net.pt');
  writeFileSync(netPt, 'not read by the checks');
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('train.data.smpl_pos_map_dir', () => {
  it('defaults to <data_dir>/smpl_pos_map, where maps missing are one error naming the file and both fixes', () => {
    const cfg = loadTrainConfig(writeConfig('default.yaml'));
    expect(cfg.train.data.smplPosMapDir).toBe(join(cap, POS_MAP_DIR));
    let msg = '';
    try {
      checkCapture(cfg);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toContain(`canonical maps missing in ${join(cap, POS_MAP_DIR)}: ${CANO_POS_EXR}`);
    expect(msg).toContain(`run \`animgs prep --config ${cfg.source}`);
    expect(msg).toContain(
      'or set train.data.smpl_pos_map_dir in default.yaml to the folder an earlier `animgs prep --out` wrote',
    );
    // the avatar loader (animate, eval) says the same; a reference net.pt is not read before this check
    expect(() => checkTrainedAvatar(cfg, { checkpoint: netPt })).toThrow(
      `no canonical maps: ${join(cap, POS_MAP_DIR, CANO_POS_EXR)} is missing: run \`animgs prep --config ${cfg.source}\``,
    );
  });

  it('points training, evaluation and the avatar loader at the folder prep --out wrote', () => {
    const cfg = loadTrainConfig(writeConfig('out.yaml', maps));
    expect(cfg.train.data.smplPosMapDir).toBe(maps);
    expect(posMapDirOf(cfg)).toBe(maps);
    expect(checkCapture(cfg).posMapDir).toBe(maps);
    expect(checkTrainedAvatar(cfg, { checkpoint: netPt }).posMapDir).toBe(maps);
    expect(selectViews(cfg, { frames: [1], cams: [0] }).posMapDir).toBe(maps);
    // another capture (a test capture without the key) keeps the default place
    expect(posMapDirOf(cfg, join(root, 'other'))).toBe(join(root, 'other', POS_MAP_DIR));
  });

  it('a missing canonical map in the configured folder is named with the fix', async () => {
    const empty = join(root, 'empty-maps');
    const cfg = loadTrainConfig(writeConfig('empty.yaml', empty));
    expect(() => checkCapture(cfg)).toThrow(
      new RegExp(`canonical maps missing in ${empty}: .*or set train\\.data\\.smpl_pos_map_dir in empty\\.yaml`),
    );
  });

  it('is a string: a wrong type names the key', () => {
    const path = writeConfig('bad.yaml', '[1, 2]');
    expect(() => loadTrainConfig(path)).toThrow(/train\.data\.smpl_pos_map_dir/);
  });
});

describe('animgs prep --config writes where the config reads', () => {
  const flags = (extra: Record<string, unknown>) => ({ size: '32', resume: true, pca: '0', ...extra });

  it('takes the output folder from train.data.smpl_pos_map_dir', () => {
    const opt = prepOptionsFromFlags(flags({ config: writeConfig('prep.yaml', maps) }));
    expect(opt.outDir).toBe(maps);
    // without the key: the default place, as before
    expect(prepOptionsFromFlags(flags({ config: writeConfig('prep-default.yaml') })).outDir).toBe(
      join(cap, POS_MAP_DIR),
    );
  });

  it('refuses an --out the config would not read, saying which key to set', () => {
    const config = writeConfig('prep-conflict.yaml');
    let err: unknown;
    try {
      prepOptionsFromFlags(flags({ config, out: maps }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    const msg = (err as Error).message;
    expect(msg).not.toContain('\n');
    expect(msg).toContain(`--out ${maps}: ${config} reads the maps from ${join(cap, POS_MAP_DIR)}`);
    expect(msg).toContain(`set train.data.smpl_pos_map_dir: ${resolve(maps)} in ${config}`);
    // the same folder as the key is fine
    expect(prepOptionsFromFlags(flags({ config: writeConfig('prep-same.yaml', maps), out: maps })).outDir).toBe(maps);
  });
});
