/**
 * Compiled compute kernels, cached by their WGSL source.
 *
 * Binding convention (every kernel of the project follows it):
 * - `@group(0)`: the kernel's buffers, bindings 0..n-1, `var<storage, read>`, `var<storage, read_write>` or
 *   `var<uniform>`; their types are read off the source to build an explicit layout.
 * - `@group(1) @binding(0) var<uniform> P: …`: optional per-dispatch parameters (≤ 256 bytes), served from a ring
 *   buffer with a dynamic offset so a dispatch with parameters allocates nothing.
 * Explicit layouts (rather than `layout: 'auto'`) are what allow the dynamic offset, and they let one bind-group
 * layout describe any buffer set of the same shape.
 */
export type BindingKind = 'read' | 'read_write' | 'uniform';

export interface Kernel {
  readonly name: string;
  readonly source: string;
  readonly pipeline: GPUComputePipeline;
  readonly layout0: GPUBindGroupLayout;
  /** Kinds of the group-0 bindings, by binding index. */
  readonly bindings: readonly BindingKind[];
  /** Whether the kernel reads per-dispatch parameters from @group(1) @binding(0). */
  readonly hasParams: boolean;
  /** Resolves when the WGSL compiled cleanly; rejects with a WgslCompileError naming the kernel and line. */
  readonly ready: Promise<void>;
}

const VAR_DECL =
  /((?:@\s*(?:group|binding)\s*\(\s*\d+\s*\)\s*)+)var\s*<\s*(storage|uniform)\s*(?:,\s*(read_write|read))?\s*>/g;

/** The group-0 binding kinds and whether group 1 holds parameters, read off the WGSL source. */
export function parseBindings(source: string): { bindings: BindingKind[]; hasParams: boolean } {
  const bindings: BindingKind[] = [];
  let hasParams = false;
  const code = source.replace(/\/\/[^\n]*/g, '');
  for (const m of code.matchAll(VAR_DECL)) {
    const group = Number(/group\s*\(\s*(\d+)/.exec(m[1]!)?.[1]);
    const binding = Number(/binding\s*\(\s*(\d+)/.exec(m[1]!)?.[1]);
    const kind: BindingKind = m[2] === 'uniform' ? 'uniform' : m[3] === 'read_write' ? 'read_write' : 'read';
    if (group === 0) {
      if (bindings[binding] !== undefined) throw new Error(`WGSL declares @group(0) @binding(${binding}) twice`);
      bindings[binding] = kind;
    } else if (group === 1 && binding === 0 && kind === 'uniform') {
      hasParams = true;
    } else {
      throw new Error(`WGSL binding @group(${group}) @binding(${binding}) breaks the kernel convention (kernels.ts)`);
    }
  }
  for (let i = 0; i < bindings.length; i++) {
    if (bindings[i] === undefined) throw new Error(`WGSL group-0 bindings must be dense: binding ${i} is missing`);
  }
  return { bindings, hasParams };
}
