/**
 * Grids for 1-D work larger than one dispatch dimension allows (65,535 workgroups): the workgroups are laid out
 * in x then y, and the kernel recovers the linear workgroup index with GRID_INDEX.
 */
export function grid1d(items: number, workgroupSize: number, maxPerDim = 65535): [number, number] {
  const groups = Math.ceil(items / workgroupSize);
  if (groups <= maxPerDim) return [groups, 1];
  const y = Math.ceil(groups / maxPerDim);
  return [Math.ceil(groups / y), y];
}

/**
 * WGSL: `fn gridIndex(wg: vec3u, nwg: vec3u, lid: u32, size: u32) -> u32`, the linear invocation index for a
 * dispatch made with grid1d (pass @builtin(workgroup_id), @builtin(num_workgroups), local_invocation_index).
 */
export const GRID_INDEX = /* wgsl */ `
fn gridIndex(wg: vec3u, nwg: vec3u, lid: u32, size: u32) -> u32 {
  return (wg.y * nwg.x + wg.x) * size + lid;
}
`;
