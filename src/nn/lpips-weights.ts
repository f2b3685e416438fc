/**
 * Finding and loading LPIPS's two weight files (Node only): torchvision's VGG16 ImageNet weights
 * (`vgg16-397923af.pth`, only `features.*` is used) and LPIPS v0.1's linear heads (`vgg.pth`). Both are legacy
 * `torch.save` files; neither is shipped with this package, and nothing is downloaded: without them the trainer
 * falls back to D-SSIM (ssim.ts). Files are reached through io/node (this module is a Node-only entry point).
 */
import { environment, fileExists as existsSync, homeDir as homedir, joinPath as join } from '../io/node/files.js';
import { isTorchTensor } from '../io/torch.js';
import { loadTorchCheckpoint } from '../io/node/torch.js';
import { Lpips, lpipsLinEntries } from './lpips.js';
import { vggEntries, VGG16_WIDTHS } from './vgg.js';

export const VGG16_FILE = 'vgg16-397923af.pth';
export const VGG16_URL = 'https://download.pytorch.org/models/vgg16-397923af.pth';
export const LPIPS_LIN_FILE = 'vgg.pth';
export const LPIPS_LIN_SOURCE =
  'LPIPS v0.1 linear heads: weights/v0.1/vgg.pth of the LPIPS project (github.com/richzhang/PerceptualSimilarity, ' +
  'file lpips/weights/v0.1/vgg.pth; `pip install lpips` ships the same file inside the package)';

export interface LpipsWeightPaths {
  vggPath: string;
  linPath: string;
}

/** What to do when the weights are missing, naming the directories searched. */
export function missingLpipsWeightsMessage(dirs: readonly string[]): string {
  const where = dirs.length ? dirs.join(', ') : '(no directory given and ANIMGS_LPIPS_DIR is not set)';
  return (
    `LPIPS weights not found in ${where}: put ${VGG16_FILE} (${VGG16_URL}) and ${LPIPS_LIN_FILE} (${LPIPS_LIN_SOURCE}) ` +
    `into one directory and pass it or set ANIMGS_LPIPS_DIR; training uses L1 + 0.2·D-SSIM instead`
  );
}

/**
 * The two files in `dir` (when given) else in $ANIMGS_LPIPS_DIR; the VGG file may also sit in PyTorch's hub cache
 * ($TORCH_HOME or ~/.cache/torch, hub/checkpoints), where torchvision downloads it. Returns null when either is
 * missing, after passing `missingLpipsWeightsMessage` to `warn` (if given).
 */
export function resolveLpipsWeights(
  opts: { dir?: string; env?: Record<string, string | undefined>; warn?: (message: string) => void } = {},
): LpipsWeightPaths | null {
  const env = opts.env ?? environment();
  const dirs = [opts.dir ?? env['ANIMGS_LPIPS_DIR']].filter((d): d is string => !!d);
  const hub = join(env['TORCH_HOME'] ?? join(homedir(), '.cache', 'torch'), 'hub', 'checkpoints');
  const find = (names: string[]) => names.find((p) => existsSync(p)) ?? null;
  const vggPath = find([...dirs.map((d) => join(d, VGG16_FILE)), join(hub, VGG16_FILE)]);
  const linPath = find(dirs.flatMap((d) => [join(d, LPIPS_LIN_FILE), join(d, 'weights', 'v0.1', LPIPS_LIN_FILE)]));
  if (!vggPath || !linPath) {
    opts.warn?.(missingLpipsWeightsMessage(dirs));
    return null;
  }
  return { vggPath, linPath };
}

/** The values of `entries` in an unpickled state dict, each checked for presence and shape. */
export function stateDictValues(
  obj: unknown,
  entries: ReadonlyArray<{ name: string; shape: number[] }>,
  source: string,
): Map<string, Float32Array> {
  if (typeof obj !== 'object' || obj === null) throw new Error(`${source}: not a state dict`);
  const sd = obj as Record<string, unknown>;
  const out = new Map<string, Float32Array>();
  for (const { name, shape } of entries) {
    const t = sd[name];
    if (!isTorchTensor(t)) throw new Error(`${source}: no tensor '${name}' (is this the right file?)`);
    if (t.shape.join() !== shape.join()) {
      throw new Error(`${source}: '${name}' has shape [${t.shape}], expected [${shape}]`);
    }
    out.set(name, t.data);
  }
  return out;
}

/** LPIPS-VGG from the two files (`widths` only for tests of reduced-channel files). */
export function loadLpips(paths: LpipsWeightPaths, widths = VGG16_WIDTHS): Lpips {
  const vgg = stateDictValues(loadTorchCheckpoint(paths.vggPath), vggEntries(widths), paths.vggPath);
  const lin = stateDictValues(loadTorchCheckpoint(paths.linPath), lpipsLinEntries(widths), paths.linPath);
  return Lpips.fromStateDicts(vgg, lin, widths);
}
