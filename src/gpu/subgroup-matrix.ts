/**
 * WGSL for subgroup-matrix loads and stores in the syntax the device's compiler takes. Dawn (node `webgpu` 0.6) has
 * the templated form `subgroupMatrixLoad<T, row_major | col_major>(&arr, offset, stride)` /
 * `subgroupMatrixStore<row_major | col_major>(&arr, offset, value, stride)` and warns on every compile of the older
 * `(ptr, offset, colMajor, stride)` form, which it deprecates (H200, 2026-11-28: hundreds of warnings per bench log,
 * results identical, bench/sgm-layout-probe.ts). Older compilers (browsers) may know only the older form, so the
 * device is probed once at creation (probeSubgroupMatrixSyntax) and every kernel generator emits through sgmLoad /
 * sgmStore.
 */
let templated = true;

/** Emit the templated (true) or the older (false) form from now on. */
export function setTemplatedSubgroupMatrixSyntax(on: boolean): void {
  templated = on;
}

/** `subgroupMatrixLoad` of matrix type `type` from `ptr` (e.g. '&SA') at element `offset`, rows `stride` apart. */
export function sgmLoad(type: string, ptr: string, offset: string, colMajor: boolean, stride: string): string {
  return templated
    ? `subgroupMatrixLoad<${type}, ${colMajor ? 'col_major' : 'row_major'}>(${ptr}, ${offset}, ${stride})`
    : `subgroupMatrixLoad<${type}>(${ptr}, ${offset}, ${colMajor}, ${stride})`;
}

/** `subgroupMatrixStore` of `value` into `ptr` at element `offset`, rows `stride` apart. */
export function sgmStore(ptr: string, offset: string, value: string, colMajor: boolean, stride: string): string {
  return templated
    ? `subgroupMatrixStore<${colMajor ? 'col_major' : 'row_major'}>(${ptr}, ${offset}, ${value}, ${stride})`
    : `subgroupMatrixStore(${ptr}, ${offset}, ${value}, ${colMajor}, ${stride})`;
}

/** Whether `device` (with subgroup matrices) compiles the templated form; sets the syntax accordingly. */
export async function probeSubgroupMatrixSyntax(device: GPUDevice): Promise<boolean> {
  // f32 only (a device may have subgroup matrices without shader-f16); a module, not a pipeline, so no config check
  const code = /* wgsl */ `enable chromium_experimental_subgroup_matrix;
@group(0) @binding(0) var<storage, read_write> B: array<f32, 256>;
@compute @workgroup_size(32)
fn main() {
  let m = subgroupMatrixLoad<subgroup_matrix_result<f32, 16, 16>, row_major>(&B, 0u, 16u);
  subgroupMatrixStore<row_major>(&B, 0u, m, 16u);
}`;
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code, label: 'subgroup-matrix syntax probe' });
  const info = await module.getCompilationInfo();
  await device.popErrorScope();
  const ok = !info.messages.some((m) => m.type === 'error');
  setTemplatedSubgroupMatrixSyntax(ok);
  return ok;
}
