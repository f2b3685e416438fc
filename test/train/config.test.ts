import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { AVATAR_PRESETS } from '../../src/avatar/config.js';
import { ConfigError } from '../../src/avatar/config-reader.js';
import { loadTrainConfig, parseTrainConfig } from '../../src/avatar/config-file.js';

const root = mkdtempSync(join(tmpdir(), 'animgs-config-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The original's avatarrex_zzr/avatar.yaml, as published (data paths aside). */
const ZZR = `mode: train
train:
  dataset: MvRgbDatasetAvatarReX
  data:
    subject_name: avatarrex_zzr
    data_dir: Z:/Data/MultiviewRGB/avatarrex/zzr
    frame_range: [0, 2001, 1]
    used_cam_ids: [0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 14, 15]
    load_smpl_pos_map: true
  pretrained_dir: null
  net_ckpt_dir: ./results/avatarrex_zzr/avatar
  prev_ckpt: null
  ckpt_interval:
    epoch: 10
    batch: 50000
  eval_interval: 1000
  eval_training_ids: [190, 7]
  eval_testing_ids: [354, 7]
  eval_img_factor: 1.0
  lr_init: 0.0005
  loss_weight:
    l1: 1.0
    lpips: 0.1
    offset: 0.005
  finetune_color: false
  batch_size: 1
  num_workers: 8
  random_bg_color: true
test:
  dataset: MvRgbDatasetAvatarReX
  data:
    data_dir: Z:/Data/MultiviewRGB/avatarrex/zzr
    frame_range: [0, 500]
    subject_name: avatarrex_zzr
  pose_data:
    data_path: Z:/Data/Pose/thuman4/pose_00.npz
    frame_range: [2000, 2500]
  view_setting: free
  render_view_idx: 13
  global_orient: true
  img_scale: 1.0
  save_mesh: false
  render_skeleton: false
  save_tex_map: false
  save_ply: false
  n_pca: 20
  sigma_pca: 2.0
  prev_ckpt: ./results/avatarrex_zzr/avatar/batch_700000
model:
  with_viewdirs: true
  random_style: false
`;

const zzr = () => parseYaml(ZZR) as Record<string, any>;

function problems(doc: unknown, overrides = {}): string[] {
  try {
    parseTrainConfig(doc, '/x/avatar.yaml', overrides);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return [...(e as ConfigError).problems];
  }
  return [];
}

describe('avatar.yaml', () => {
  it("reads the original's zzr config with its keys as they are", () => {
    const path = join(root, 'avatar.yaml');
    writeFileSync(path, ZZR);
    const c = loadTrainConfig(path);
    expect(c.mode).toBe('train');
    expect(c.train.layout).toBe('avatarrex');
    expect(c.train.data.frameRange).toEqual([0, 2001, 1]);
    expect(c.train.data.usedCamIds).toHaveLength(14);
    expect(c.train.evalTrainingIds).toEqual([190, 7]);
    expect(c.train.lossWeight).toEqual({ l1: 1, lpips: 0.1, offset: 0.005, mask: 0 });
    expect(c.train.ckptInterval).toEqual({ epoch: 10, batch: 50000 });
    expect(c.train.pretrainedDir).toBeNull();
    expect(c.train.iterations).toBe(800_000);
    expect(c.train.pretrainIterations).toBe(5000);
    expect(c.train.smplxModel).toBe(join('Z:/Data/MultiviewRGB/avatarrex/zzr', 'smplx_model.npz'));
    expect(c.test?.poseData?.frameRange).toEqual([2000, 2500]);
    expect(c.test?.viewSetting).toBe('free');
    expect(c.test?.nPca).toBe(20);
    expect(c.preset).toBe('full');
    expect(c.net).toEqual(AVATAR_PRESETS.full);
    expect(c.notes).toEqual([]);
  });

  it('applies --preset and --steps, and our own keys', () => {
    const d = zzr();
    d.train.iterations = 1000;
    d.train.lpips_size = 128;
    d.model.with_viewdirs = false;
    const c = parseTrainConfig(d, 'avatar.yaml', { preset: 'small', steps: 50 });
    expect(c.preset).toBe('small');
    expect(c.net.poseMapSize).toBe(AVATAR_PRESETS.small.poseMapSize);
    expect(c.net.withViewdirs).toBe(false);
    expect(c.train.iterations).toBe(50);
    expect(c.train.lpipsSize).toBe(128);
    expect(parseTrainConfig(d, 'avatar.yaml').train.iterations).toBe(1000);
  });

  it('frame_range: [a, b], [a, b, step] or a file name; anything else names the key', () => {
    for (const fr of [[3, 9], [0, 100, 4], 'frame_ids.txt']) {
      const d = zzr();
      d.train.data.frame_range = fr;
      expect(parseTrainConfig(d, 'avatar.yaml').train.data.frameRange).toEqual(fr);
    }
    const d = zzr();
    d.train.data.frame_range = [5];
    expect(problems(d)).toEqual([
      'avatar.yaml: train.data.frame_range: expected [start, end], [start, end, step] or a file name, got [5]',
    ]);
    d.train.data.frame_range = [0, 10, 0];
    expect(problems(d)).toEqual(['avatar.yaml: train.data.frame_range: the step must be positive, got 0']);
  });

  it('reports every wrong type and unknown key at once, by path', () => {
    const d = zzr();
    d.train.loss_weight.l1 = 'abc';
    d.train.lr_init = -1;
    d.train.eval_training_ids = [190];
    d.train.random_bg_colour = true;
    d.train.data.used_cam_ids = [0, 'a'];
    d.model.with_viewdir = true;
    d.train.dataset = 'MvRgbDatasetFoo';
    expect(problems(d, { preset: 'huge', steps: 0 })).toEqual([
      "avatar.yaml: train.dataset: unknown dataset 'MvRgbDatasetFoo' (use MvRgbDatasetTHuman4, MvRgbDatasetAvatarReX or MvRgbDatasetActorsHQ)",
      'avatar.yaml: train.data.used_cam_ids: expected a list of integers, got [0,"a"]',
      "avatar.yaml: train.loss_weight.l1: expected a number, got 'abc'",
      'avatar.yaml: train.eval_training_ids: expected a pair [frame, cam] of integers, got [190]',
      'avatar.yaml: train.lr_init: must be > 0, got -1',
      'avatar.yaml: train.random_bg_colour: unknown key (check its spelling and indentation)',
      'avatar.yaml: model.with_viewdir: unknown key (check its spelling and indentation)',
      "--preset: expected one of full, small, tiny, got 'huge'",
      '--steps: expected a positive integer, got 0',
    ]);
  });

  it('accepts ssim and gan weights with a note; requires data_dir and net_ckpt_dir', () => {
    const d = zzr();
    Object.assign(d.train.loss_weight, { ssim: 0.2, lpips: 1.0, gan: 0, offset: 0 });
    const c = parseTrainConfig(d, 'avatar.yaml');
    expect(c.notes).toHaveLength(2);
    expect(c.notes[0]).toMatch(/^avatar\.yaml: train\.loss_weight\.ssim: accepted but ignored/);
    expect(c.train.lossWeight.lpips).toBe(1);
    delete d.train.data.data_dir;
    delete d.train.net_ckpt_dir;
    expect(problems(d)).toEqual([
      'avatar.yaml: train.data.data_dir: missing (required)',
      'avatar.yaml: train.net_ckpt_dir: missing (required)',
    ]);
    expect(problems('just text')).toEqual([
      "avatar.yaml: (top level): expected a mapping of keys, got 'just text'",
      'avatar.yaml: train.dataset: missing (required)',
      'avatar.yaml: train.data.data_dir: missing (required)',
      'avatar.yaml: train.data.frame_range: missing (required)',
      'avatar.yaml: train.net_ckpt_dir: missing (required)',
    ]);
  });

  it('test section: pose ranges, hand pose types, view settings', () => {
    const d = zzr();
    d.test.pose_data.frame_range = [
      [0, 10],
      [20, 40, 2],
    ];
    d.test.pose_data.frame_interval = 4;
    d.test.pose_data.hand_pose_type = 'fist';
    d.test.fix_hand = true;
    d.test.fix_hand_id = 55;
    const c = parseTrainConfig(d, 'avatar.yaml');
    expect(c.test?.poseData).toEqual({
      dataPath: 'Z:/Data/Pose/thuman4/pose_00.npz',
      frameRange: [
        [0, 10],
        [20, 40, 2],
      ],
      frameInterval: 4,
      handPoseType: 'fist',
    });
    expect(c.test?.fixHandId).toBe(55);
    d.test.view_setting = 'sideways';
    d.test.pose_data.hand_pose_type = 'open';
    expect(problems(d)).toEqual([
      "avatar.yaml: test.pose_data.hand_pose_type: expected one of ori, fist, normal, zero, got 'open'",
      "avatar.yaml: test.view_setting: expected one of camera, free, front, back, moving, front_bird, back_bird, cano, got 'sideways'",
    ]);
  });
});
