import { expect } from 'vitest';

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

/**
 * A hardware kernel and its software twin (tc2 / tc conv GEMMs): the enables and diagnostic, no twin code in the
 * hardware kernel and no subgroup matrices in the twin, the same staging, and the same (offset, majorness, stride)
 * for every matrix load, in order. Returns the number of loads.
 */
export function expectTwinOf(hw: string, sw: string): number {
  expect(hw.startsWith('enable f16;\nenable chromium_experimental_subgroup_matrix;\n')).toBe(true);
  expect(hw).toContain('diagnostic(off, chromium.subgroup_matrix_uniformity);');
  expect(hw).not.toMatch(/SwMat|swMma/);
  expect(sw).not.toMatch(/chromium|subgroupMatrix/);
  const staging = (s: string) => s.slice(s.indexOf('fn fetchTiles'), s.indexOf('@compute'));
  expect(staging(hw)).toBe(staging(sw));
  const hwLoads = sgmLoads(hw).map((l) => `${l.offset}|${l.colMajor ? 1 : 0}|${l.stride.slice(0, -1)}`);
  const swLoads = [...sw.matchAll(/= SwMat\((.*), (\d+)u, ([01])u\);/g)].map((m) => `${m[1]}|${m[3]}|${m[2]}`);
  expect(hwLoads).toEqual(swLoads);
  return hwLoads.length;
}
