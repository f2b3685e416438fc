/**
 * Per-kernel GPU time: while a profiler is attached (`gpu.profile(p)`), every dispatch gets its own compute pass
 * with timestamp writes at its start and end, so each dispatch's GPU time is measured and summed under its kernel
 * name. This is a diagnostic mode, not a timing mode: a pass per dispatch costs more launch overhead (~13 µs against
 * ~5 µs on the H100) and the GPU cannot overlap consecutive dispatches, so the sum is an upper bound of the batched
 * time. Use it to learn where the time goes, and the plain runtime to learn how long the whole takes.
 * Needs the `timestamp-query` feature (`gpu.features.timestamps`).
 */
/** What the profiler needs from the runtime (the Gpu), without importing it. */
export interface ProfilerHost {
  readonly device: GPUDevice;
  readonly features: { readonly timestamps: boolean };
  endPass(): void;
  commandEncoder(): GPUCommandEncoder;
  read(buf: GPUBuffer, offset?: number, size?: number): Promise<ArrayBuffer>;
}

/** WebGPU caps a query set at 4096 queries: 2048 dispatches per set. */
const QUERIES_PER_SET = 4096;

export interface KernelTime {
  name: string;
  count: number;
  ms: number;
}

export class KernelProfiler {
  private readonly sets: GPUQuerySet[] = [];
  private readonly names: string[] = [];
  private readonly totals = new Map<string, KernelTime>();

  constructor(private readonly gpu: ProfilerHost) {
    if (!gpu.features.timestamps) throw new Error('KernelProfiler: this adapter has no timestamp-query feature');
  }

  /** Timestamp writes for the next dispatch's pass (called by the runtime). */
  nextPass(name: string): GPUComputePassTimestampWrites {
    const i = this.names.length;
    const set = i % (QUERIES_PER_SET / 2);
    if (set === 0) {
      this.sets.push(this.gpu.device.createQuerySet({ type: 'timestamp', count: QUERIES_PER_SET }));
    }
    this.names.push(name);
    return {
      querySet: this.sets[this.sets.length - 1]!,
      beginningOfPassWriteIndex: set * 2,
      endOfPassWriteIndex: set * 2 + 1,
    };
  }

  /**
   * Resolve the timestamps recorded so far and add them to the totals (by kernel name). Call after the work of
   * interest has been recorded; it submits and waits.
   */
  async collect(): Promise<void> {
    const gpu = this.gpu;
    gpu.endPass();
    const n = this.names.length;
    const perSet = QUERIES_PER_SET / 2;
    for (let s = 0; s < this.sets.length; s++) {
      const count = Math.min(perSet, n - s * perSet) * 2;
      if (count <= 0) break;
      const buf = gpu.device.createBuffer({ size: count * 8, usage: 0x200 /* QUERY_RESOLVE */ | 0x04 /* COPY_SRC */ });
      gpu.commandEncoder().resolveQuerySet(this.sets[s]!, 0, count, buf, 0);
      const raw = new BigInt64Array(await gpu.read(buf, 0, count * 8));
      buf.destroy();
      for (let q = 0; q < count; q += 2) {
        const name = this.names[s * perSet + q / 2]!;
        const ms = Math.max(0, Number(raw[q + 1]! - raw[q]!) / 1e6);
        const t = this.totals.get(name) ?? { name, count: 0, ms: 0 };
        t.count++;
        t.ms += ms;
        this.totals.set(name, t);
      }
    }
    for (const set of this.sets) set.destroy();
    this.sets.length = 0;
    this.names.length = 0;
  }

  /** Totals by kernel name, slowest first. */
  report(): KernelTime[] {
    return [...this.totals.values()].sort((a, b) => b.ms - a.ms);
  }

  /** Total GPU ms over all kernels. */
  get totalMs(): number {
    let s = 0;
    for (const t of this.totals.values()) s += t.ms;
    return s;
  }

  reset(): void {
    this.totals.clear();
  }
}
