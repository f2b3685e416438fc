/**
 * The connected pieces of the template's mesh, and the clean-up that keeps the body. A fitted SDF can hold small
 * closed pieces away from the body (where no camera constrained it: between the legs, under the arms) and bubbles
 * inside it. Every visible surface point of the template becomes a Gaussian, so a floater is a Gaussian cloud in
 * empty space that follows the skinning into every pose; the clean-up drops pieces whose enclosed volume is a small
 * fraction of the largest one's, and inner shells (negative volume: cavities).
 */
import type { TriMesh } from '../../io/mesh.js';
import { meshVolume } from './marching.js';

export interface MeshComponent {
  vertices: number;
  faces: number;
  /** Enclosed volume (m³); negative for an inner shell (a cavity's wall, facing inwards). */
  volume: number;
}

/** Per-vertex component label (0-based, ordered by first vertex) and each component's size and volume. */
export function meshComponents(
  positions: ArrayLike<number>,
  faces: ArrayLike<number>,
): { labels: Int32Array; components: MeshComponent[] } {
  const V = positions.length / 3;
  const parent = Int32Array.from({ length: V }, (_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]!]!;
      i = parent[i]!;
    }
    return i;
  };
  for (let t = 0; t < faces.length; t += 3) {
    const a = find(faces[t]!);
    for (let e = 1; e < 3; e++) {
      const b = find(faces[t + e]!);
      if (a !== b) parent[b] = a;
    }
  }
  const labels = new Int32Array(V).fill(-1);
  const rootLabel = new Map<number, number>();
  const components: MeshComponent[] = [];
  for (let i = 0; i < V; i++) {
    const r = find(i);
    let l = rootLabel.get(r);
    if (l === undefined) {
      l = components.length;
      rootLabel.set(r, l);
      components.push({ vertices: 0, faces: 0, volume: 0 });
    }
    labels[i] = l;
    components[l]!.vertices++;
  }
  const own: number[][] = components.map(() => []);
  for (let t = 0; t < faces.length; t += 3) own[labels[faces[t]!]!]!.push(faces[t]!, faces[t + 1]!, faces[t + 2]!);
  own.forEach((f, l) => {
    components[l]!.faces = f.length / 3;
    components[l]!.volume = meshVolume(positions, f);
  });
  return { labels, components };
}

/** Pieces smaller than this fraction of the largest one's volume are dropped. */
export const MIN_COMPONENT_SHARE = 0.01;

export interface Cleaned {
  mesh: TriMesh & { positions: Float64Array; faces: Uint32Array };
  /** All pieces, the kept ones, and the enclosed volume (m³) of what was dropped (cavities count by magnitude). */
  stats: { components: number; kept: number; keptVolume: number; droppedVolume: number };
}

/** The mesh without floaters and cavities (see the file comment); vertices renumbered in their old order. */
export function keepBody(mesh: TriMesh, minShare = MIN_COMPONENT_SHARE): Cleaned {
  const { labels, components } = meshComponents(mesh.positions, mesh.faces);
  const largest = Math.max(0, ...components.map((c) => c.volume));
  const keep = components.map((c) => c.volume > 0 && c.volume >= minShare * largest);
  const V = labels.length;
  const newIndex = new Int32Array(V).fill(-1);
  let n = 0;
  for (let i = 0; i < V; i++) if (keep[labels[i]!]) newIndex[i] = n++;
  const positions = new Float64Array(3 * n);
  const normals = mesh.normals ? new Float64Array(3 * n) : undefined;
  for (let i = 0; i < V; i++) {
    const j = newIndex[i]!;
    if (j < 0) continue;
    for (let k = 0; k < 3; k++) {
      positions[3 * j + k] = mesh.positions[3 * i + k]!;
      if (normals) normals[3 * j + k] = mesh.normals![3 * i + k]!;
    }
  }
  const faces: number[] = [];
  for (let t = 0; t < mesh.faces.length; t += 3) {
    if (newIndex[mesh.faces[t]!]! < 0) continue;
    faces.push(newIndex[mesh.faces[t]!]!, newIndex[mesh.faces[t + 1]!]!, newIndex[mesh.faces[t + 2]!]!);
  }
  let keptVolume = 0;
  let droppedVolume = 0;
  components.forEach((c, l) => (keep[l] ? (keptVolume += c.volume) : (droppedVolume += Math.abs(c.volume))));
  return {
    mesh: { positions, faces: Uint32Array.from(faces), ...(normals ? { normals } : {}) },
    stats: { components: components.length, kept: keep.filter(Boolean).length, keptVolume, droppedVolume },
  };
}
