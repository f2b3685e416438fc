import type { CanonicalMesh } from '../../src/prep/maps.js';

/** A UV sphere, faces counter-clockwise from outside. */
export function uvSphere(center: number[], r: number, rings: number, segs: number): CanonicalMesh {
  const pos: number[] = [];
  const faces: number[] = [];
  for (let i = 0; i <= rings; i++) {
    const th = (Math.PI * i) / rings;
    for (let j = 0; j < segs; j++) {
      const ph = (2 * Math.PI * j) / segs;
      pos.push(
        center[0]! + r * Math.sin(th) * Math.cos(ph),
        center[1]! + r * Math.cos(th),
        center[2]! + r * Math.sin(th) * Math.sin(ph),
      );
    }
  }
  for (let i = 0; i < rings; i++) {
    for (let j = 0; j < segs; j++) {
      const a = i * segs + j,
        b = i * segs + ((j + 1) % segs),
        c = (i + 1) * segs + j,
        d = (i + 1) * segs + ((j + 1) % segs);
      faces.push(a, b, c, b, d, c);
    }
  }
  return { positions: Float64Array.from(pos), faces: Uint32Array.from(faces) };
}
