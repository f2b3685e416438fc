/** The networks' input: the front half of a posed position map, at the size the networks read. */

/**
 * The network input from a posed position map (height h × width 2h, interleaved xyz; front | back): the front
 * half as [3, S, S], nearest-downsampled by picking every k-th pixel (k = h / S), as the original halves its maps.
 */
export function frontPoseMap(
  map: { width: number; height: number; data: Float32Array },
  S: number,
  source = 'posed map',
): Float32Array {
  const h = map.height;
  if (map.width !== 2 * h) throw new Error(`${source}: expected a h × 2h map (front | back), got ${map.width}x${h}`);
  const k = h / S;
  if (!Number.isInteger(k) || k < 1) {
    throw new Error(
      `${source}: its front half is ${h}² but the networks read ${S}²: run \`animgs prep --size ${2 * S}\``,
    );
  }
  const out = new Float32Array(3 * S * S);
  const n = S * S;
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const o = (y * k * map.width + x * k) * 3;
      const i = y * S + x;
      out[i] = map.data[o]!;
      out[n + i] = map.data[o + 1]!;
      out[2 * n + i] = map.data[o + 2]!;
    }
  }
  return out;
}
