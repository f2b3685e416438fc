/**
 * A pool of GPU storage buffers keyed by size class, so a training loop stops allocating after warm-up.
 *
 * Sizes are rounded up to classes with four steps per power of two (at most 19% waste), so tensors of nearby
 * sizes share buffers. Releasing a buffer that queued commands still use is safe: WebGPU runs commands in
 * submission order, so work recorded later that reuses the buffer runs after the earlier reads and writes.
 *
 * `acquire` hands out the free buffer of the class that was created first (not the last released). The buffers a
 * step gets then depend only on which buffers are free when it starts and on its sequence of acquires and releases,
 * so a repeated training step gets the same buffers every time and the runtime's bind-group cache hits (with a
 * stack, the release order permutes the free lists and ~2/3 of a network step's dispatches created a bind group).
 */
/** Storage, copy source and destination, and INDIRECT (so a kernel can write dispatch arguments into one). */
export const STORAGE_USAGE = 0x80 /* STORAGE */ | 0x04 /* COPY_SRC */ | 0x08 /* COPY_DST */ | 0x100; /* INDIRECT */

export function sizeClass(bytes: number): number {
  const b = Math.max(256, Math.ceil(bytes / 16) * 16);
  const p = 2 ** Math.floor(Math.log2(b));
  const step = Math.max(16, p / 4);
  return Math.ceil(b / step) * step;
}

export interface PoolStats {
  /** Buffers created since the pool was made (a flat count after warm-up means no new allocations). */
  created: number;
  /** Bytes in all buffers the pool owns (free and in use). */
  bytesAllocated: number;
  /** Bytes in buffers handed out and not yet released. */
  bytesInUse: number;
  /** High-water mark of bytesInUse. */
  peakBytesInUse: number;
  /** High-water mark of bytesAllocated. */
  peakBytesAllocated: number;
}

export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  private owned = new Map<GPUBuffer, number>();
  private inUse = new Set<GPUBuffer>();
  /** Creation order of each buffer; free lists are kept sorted by it, descending, so `pop` gives the oldest. */
  private serial = new Map<GPUBuffer, number>();
  private nextSerial = 0;
  readonly stats: PoolStats = {
    created: 0,
    bytesAllocated: 0,
    bytesInUse: 0,
    peakBytesInUse: 0,
    peakBytesAllocated: 0,
  };

  constructor(
    private readonly device: GPUDevice,
    private readonly maxBufferSize: number,
  ) {}

  /** A buffer of at least `bytes` bytes (contents undefined), usable as storage, copy source and destination, and indirect arguments. */
  acquire(bytes: number, label = 'pooled'): GPUBuffer {
    const size = sizeClass(bytes);
    if (size > this.maxBufferSize) {
      throw new RangeError(`buffer of ${bytes} bytes exceeds the device's maxBufferSize ${this.maxBufferSize}`);
    }
    const list = this.free.get(size);
    let buf = list?.pop();
    if (!buf) {
      buf = this.device.createBuffer({ size, usage: STORAGE_USAGE, label });
      this.owned.set(buf, size);
      this.serial.set(buf, this.nextSerial++);
      this.stats.created++;
      this.stats.bytesAllocated += size;
      this.stats.peakBytesAllocated = Math.max(this.stats.peakBytesAllocated, this.stats.bytesAllocated);
    }
    this.inUse.add(buf);
    this.stats.bytesInUse += size;
    this.stats.peakBytesInUse = Math.max(this.stats.peakBytesInUse, this.stats.bytesInUse);
    return buf;
  }

  /** Return a buffer obtained from `acquire`; releasing twice or releasing a foreign buffer is a bug and throws. */
  release(buf: GPUBuffer): void {
    const size = this.owned.get(buf);
    if (size === undefined || !this.inUse.delete(buf)) throw new Error('BufferPool.release: buffer is not in use');
    this.stats.bytesInUse -= size;
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    const id = this.serial.get(buf)!;
    let lo = 0,
      hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.serial.get(list[mid]!)! > id) lo = mid + 1;
      else hi = mid;
    }
    list.splice(lo, 0, buf);
  }

  /** Whether `buf` is one of this pool's buffers (free or in use). */
  owns(buf: GPUBuffer): boolean {
    return this.owned.has(buf);
  }

  /** Whether `buf` is one of this pool's buffers and free. */
  isFree(buf: GPUBuffer): boolean {
    return this.owned.has(buf) && !this.inUse.has(buf);
  }

  /** Take free buffers out of the free lists: in use (by a replay, capture.ts) until released. */
  reserve(buffers: readonly GPUBuffer[]): void {
    for (const buf of buffers) {
      const size = this.owned.get(buf);
      const list = size === undefined ? undefined : this.free.get(size);
      const at = list ? list.indexOf(buf) : -1;
      if (at < 0) throw new Error('BufferPool.reserve: buffer is not free');
      list!.splice(at, 1);
      this.inUse.add(buf);
      this.stats.bytesInUse += size!;
      this.stats.peakBytesInUse = Math.max(this.stats.peakBytesInUse, this.stats.bytesInUse);
    }
  }

  /** Destroy every free buffer (e.g. between benchmarks of different sizes). */
  trim(): void {
    for (const list of this.free.values()) {
      for (const b of list) {
        this.stats.bytesAllocated -= this.owned.get(b)!;
        this.owned.delete(b);
        this.serial.delete(b);
        b.destroy();
      }
    }
    this.free.clear();
  }

  resetPeak(): void {
    this.stats.peakBytesInUse = this.stats.bytesInUse;
    this.stats.peakBytesAllocated = this.stats.bytesAllocated;
  }
}
