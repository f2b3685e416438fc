/** The subgroup-matrix loads of generated WGSL, in order, in either syntax (src/gpu/subgroup-matrix.ts). */
export interface SgmLoad {
  ptr: string;
  offset: string;
  colMajor: boolean;
  stride: string;
}

const TEMPLATED =
  /subgroupMatrixLoad<subgroup_matrix_\w+<f16, 16, 16>, (row_major|col_major)>\((&\w+), ([^,]+), (\d+u)\)/g;
const LEGACY = /subgroupMatrixLoad<subgroup_matrix_\w+<f16, 16, 16>>\((&\w+), ([^,]+), (true|false), (\d+u)\)/g;

export function sgmLoads(wgsl: string): SgmLoad[] {
  const t = [...wgsl.matchAll(TEMPLATED)].map((m) => ({
    ptr: m[2]!,
    offset: m[3]!,
    colMajor: m[1] === 'col_major',
    stride: m[4]!,
  }));
  const l = [...wgsl.matchAll(LEGACY)].map((m) => ({
    ptr: m[1]!,
    offset: m[2]!,
    colMajor: m[3] === 'true',
    stride: m[4]!,
  }));
  if (t.length && l.length) throw new Error('WGSL mixes both subgroup-matrix syntaxes');
  return t.length ? t : l;
}
