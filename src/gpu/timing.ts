/**
 * GPU-side timing with timestamp queries: `mark()` records a timestamp after all work recorded so far (it ends
 * the open compute pass and writes the time at the start of an empty one), `read()` returns the marks in ms
 * relative to the first. Falls back to host wall-clock around `sync()` when the adapter lacks timestamp queries.
 */
import type { Gpu } from './gpu.js';

export class GpuTimer {
  private readonly querySet: GPUQuerySet | null;
  private readonly resolveBuf: GPUBuffer | null;
  private count = 0;
  private readonly wall: number[] = [];

  constructor(
    private readonly gpu: Gpu,
    readonly capacity = 64,
  ) {
    if (gpu.features.timestamps) {
      this.querySet = gpu.device.createQuerySet({ type: 'timestamp', count: capacity });
      this.resolveBuf = gpu.device.createBuffer({ size: capacity * 8, usage: 0x200 /* QUERY_RESOLVE */ | 0x04 });
    } else {
      this.querySet = null;
      this.resolveBuf = null;
    }
  }

  get usesTimestamps(): boolean {
    return this.querySet !== null;
  }

  /** Record a timestamp after everything recorded so far. Without timestamp queries this waits for the GPU. */
  async mark(): Promise<void> {
    if (this.count >= this.capacity) throw new Error(`GpuTimer: more than ${this.capacity} marks`);
    if (this.querySet) {
      this.gpu.endPass();
      const pass = this.gpu.commandEncoder().beginComputePass({
        timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: this.count },
      });
      pass.end();
    } else {
      await this.gpu.sync();
      this.wall.push(performance.now());
    }
    this.count++;
  }

  /** Milliseconds of each mark after the first (length = marks − 1: the intervals' cumulative ends). */
  async read(): Promise<number[]> {
    if (!this.querySet || !this.resolveBuf) {
      return this.wall.slice(1).map((t) => t - this.wall[0]!);
    }
    this.gpu.endPass();
    this.gpu.commandEncoder().resolveQuerySet(this.querySet, 0, this.count, this.resolveBuf, 0);
    const raw = new BigInt64Array(await this.gpu.read(this.resolveBuf, 0, this.count * 8));
    const t0 = raw[0]!;
    return Array.from(raw.slice(1), (t) => Number(t - t0) / 1e6);
  }

  reset(): void {
    this.count = 0;
    this.wall.length = 0;
  }

  destroy(): void {
    this.querySet?.destroy();
    this.resolveBuf?.destroy();
  }
}
