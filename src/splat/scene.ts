/** A Gaussian scene as the rasterizer and its float64 reference take it, and its SH layout. */
import { shDegreeOf } from './sh.js';

export interface SplatScene {
  count: number;
  /** N×3 world positions. */
  means: ArrayLike<number>;
  /** N×3 scales (already exp'd). */
  scales: ArrayLike<number>;
  /** N×4 quaternions wxyz (used as given: normalise them first). */
  rotations: ArrayLike<number>;
  /** N opacities (already sigmoided). */
  opacities: ArrayLike<number>;
  /** N×3 precomputed colours; or */
  colors?: ArrayLike<number>;
  /** N×K×3 SH coefficients (K = 1, 4, 9 or 16; coefficient-major, channel-minor). */
  sh?: ArrayLike<number>;
  /** Active SH degree (default: the stored degree). */
  shDegree?: number;
}

/** The SH coefficients per Gaussian and the degree in use; null for a scene of precomputed colours. */
export function shLayout(scene: SplatScene): { K: number; degree: number } | null {
  if (!scene.sh) return null;
  const K = scene.sh.length / (3 * scene.count);
  const stored = shDegreeOf(K);
  const degree = scene.shDegree ?? stored;
  if (degree > stored) throw new Error(`shDegree ${degree} exceeds the stored degree ${stored}`);
  return { K, degree };
}
