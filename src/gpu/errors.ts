/** Errors the runtime throws: each says what failed and where (kernel name, WGSL line). */

export class GpuError extends Error {
  override name = 'GpuError';
}

export class NoAdapterError extends GpuError {
  override name = 'NoAdapterError';
}

export class DeviceLostError extends GpuError {
  override name = 'DeviceLostError';
}

export class WgslCompileError extends GpuError {
  override name = 'WgslCompileError';
  constructor(
    readonly kernel: string,
    readonly line: number,
    readonly column: number,
    readonly detail: string,
    readonly source: string,
  ) {
    super(`WGSL error in kernel '${kernel}' at line ${line}:${column}: ${detail}\n${excerpt(source, line)}`);
  }
}

/** Three lines of context around the failing WGSL line, numbered, so a generated kernel's bug can be read off. */
export function excerpt(source: string, line: number): string {
  const lines = source.split('\n');
  const from = Math.max(1, line - 2);
  const to = Math.min(lines.length, line + 2);
  const out: string[] = [];
  for (let i = from; i <= to; i++) out.push(`${i === line ? '>' : ' '}${String(i).padStart(5)} | ${lines[i - 1]}`);
  return out.join('\n');
}
