/** `animgs export-web` and `animgs serve`: the browser player's static site (flags only; see src/player). */
import type { Command } from 'commander';
import { loadTrainConfig } from '../avatar/config-file.js';
import { exportWeb } from '../animate/web/export.js';
import { serveSite } from '../animate/web/serve.js';

interface ExportFlags {
  config: string;
  out: string;
  checkpoint?: string;
  poses?: string[];
  frames?: string;
  precision: string;
  size?: string;
  bake?: string[];
  fps?: string;
  force?: boolean;
}

export function registerWeb(program: Command): void {
  program
    .command('export-web')
    .description(
      'write a static web site that plays the trained avatar in a browser through WebGPU: the page, one JS bundle, ' +
        'the weights (safetensors), the canonical maps, the pose PCA and the motions (test.pose_data and the ' +
        "capture's poses by default)",
    )
    .requiredOption('-c, --config <yaml>', "a reference-style avatar.yaml (the original's keys)")
    .requiredOption('--out <dir>', 'the site folder to write')
    .option('--checkpoint <path>', 'our checkpoint folder or net.pt (default: as animate)')
    .option('--poses <file...>', 'pose sequences to include as motions (default: test.pose_data and the capture)')
    .option('--frames <a:b[:step]>', 'frames of each pose file, end exclusive (default: all, at most 600)')
    .option('--precision <p>', 'network weights stored as f16 (half the bytes) or f32', 'f16')
    .option('--size <WxH>', 'the canvas size the page opens with (default 1024x1024)')
    .option(
      '--bake <motion...>',
      'also store these motions (names, or all) as posed Gaussians per frame, so the page plays them without the networks',
    )
    .option('--fps <n>', 'frames per second the motions play at (default 30)')
    .option('--force', 'replace an earlier export in the folder')
    .action(async (flags: ExportFlags) => {
      const r = await exportWeb({
        config: loadTrainConfig(flags.config),
        out: flags.out,
        ...(flags.checkpoint ? { checkpoint: flags.checkpoint } : {}),
        ...(flags.poses ? { poses: flags.poses } : {}),
        ...(flags.frames !== undefined ? { frames: flags.frames } : {}),
        precision: flags.precision,
        ...(flags.size ? { size: flags.size } : {}),
        ...(flags.bake ? { bake: flags.bake } : {}),
        ...(flags.fps !== undefined ? { fps: Number(flags.fps) } : {}),
        force: !!flags.force,
        log: (line) => console.log(line),
      });
      console.log(`export-web: ${r.out} (${(r.bytes / 1e6).toFixed(1)} MB); serve it with \`animgs serve ${r.out}\``);
    });
  program
    .command('serve')
    .description('serve a folder (an export-web site) over HTTP on this machine')
    .argument('<dir>', 'the folder to serve')
    .option('--port <n>', 'port (default 8080; 0 picks a free one)', '8080')
    .option('--host <addr>', 'address to listen on (default 127.0.0.1; 0.0.0.0 for the network)', '127.0.0.1')
    .action(async (dir: string, flags: { port: string; host: string }) => {
      const s = await serveSite(dir, { port: Number(flags.port), host: flags.host });
      console.log(`serving ${dir} at ${s.url} (Ctrl-C to stop)`);
      await new Promise<void>(() => undefined); // until interrupted
    });
}
