/**
 * The GPU runtime: one device, a command recorder that batches work into one encoder, a kernel cache, a buffer
 * pool, a parameter ring, readback and error reporting. Every GPU module of the project goes through it.
 *
 * Work is recorded, not run: `dispatch`, `copy`, `clear` append to the current command encoder (dispatches share
 * one compute pass, which costs ~5 µs each on the H100 against ~13 µs with a pass per dispatch) and are submitted
 * by `flush()`, `sync()` or `read()`. Errors of any kind (WGSL, validation, out-of-memory, device loss) are
 * collected and thrown, naming the kernel, at the next `sync()`/`read()`.
 */
import { BufferPool } from './pool.js';
import { parseBindings, type BindingKind, type Kernel } from './kernels.js';
import { DeviceLostError, GpuError, WgslCompileError } from './errors.js';
import { describeAdapter, type AdapterSummary } from './adapter.js';
import type { KernelProfiler } from './profiler.js';
import { Replay, type CapturedOp } from './capture.js';
import { PARAM_SLOT } from './params.js';
import { COPY_MAX_GROUPS, COPY_WORKGROUP, copyKernelWgsl } from './copy-kernel.js';

export type Binding = GPUBuffer | { buffer: GPUBuffer; offset?: number; size?: number };

export interface GpuFeatures {
  f16: boolean;
  subgroups: boolean;
  subgroupMatrix: boolean;
  timestamps: boolean;
}

export { PARAM_SLOT };
const PARAM_SLOTS = 4096;

export class Gpu {
  readonly pool: BufferPool;
  readonly features: GpuFeatures;
  readonly limits: GPUSupportedLimits;
  private readonly kernels = new Map<string, Kernel>();
  private readonly paramLayout: GPUBindGroupLayout;
  private readonly paramBuffer: GPUBuffer;
  private readonly paramBindGroup: GPUBindGroup;
  private readonly paramData = new ArrayBuffer(PARAM_SLOT * PARAM_SLOTS);
  private paramUsed = 0;
  private encoder: GPUCommandEncoder | null = null;
  /** The ops recorded since capture() began, or null when not capturing. */
  private captured: CapturedOp[] | null = null;
  /** The buffers the ops in `captured` use. */
  private capturedBuffers = new Set<GPUBuffer>();
  private pass: GPUComputePassEncoder | null = null;
  private readonly errors: Error[] = [];
  private lost: GPUDeviceLostInfo | null = null;
  private destroyed = false;
  private readonly bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 1;
  private readonly bindGroups = new WeakMap<Kernel, Map<string, GPUBindGroup>>();
  /** Dispatches recorded since creation (for tests and overhead accounting). */
  dispatchCount = 0;
  private profiler: KernelProfiler | null = null;
  /**
   * Submit after this many dispatches even without a sync, so the GPU starts on a long recording (a network's
   * training step records ~1500 dispatches, tens of ms of CPU work) while the CPU keeps recording: the step then
   * takes max(CPU, GPU) instead of their sum. Each submit costs ~20–50 µs of CPU; 0 turns it off.
   * After a wait (sync, read) the GPU is idle, so the batches ramp up from 8 dispatches, doubling to this size:
   * the GPU starts after ~8 recorded dispatches instead of 128 (at ~15–25 µs of CPU per dispatch, ~2 ms earlier;
   * the rasterizer's frame went from 3.7 to 2.5 ms with batches of 16, bench/RESULTS.md).
   */
  autoFlushDispatches = 128;
  private flushAt = 8;
  /** Bind groups created so far (each costs ~25 µs of CPU in Dawn; a warm loop should create none). */
  bindGroupsCreated = 0;
  private sinceFlush = 0;

  constructor(
    readonly device: GPUDevice,
    readonly adapter: GPUAdapter,
    readonly info: AdapterSummary,
  ) {
    const f = device.features;
    this.features = {
      f16: f.has('shader-f16'),
      subgroups: f.has('subgroups'),
      subgroupMatrix: f.has('chromium-experimental-subgroup-matrix'),
      timestamps: f.has('timestamp-query'),
    };
    this.limits = device.limits;
    this.pool = new BufferPool(device, device.limits.maxBufferSize);
    device.addEventListener('uncapturederror', (ev) => {
      const e = (ev as GPUUncapturedErrorEvent).error;
      this.errors.push(new GpuError(`${e.constructor.name}: ${e.message}`));
    });
    void device.lost.then((info) => {
      this.lost = info;
      if (!this.destroyed) console.error(`animgs: GPU device lost (${info.reason}): ${info.message}`);
    });
    this.paramLayout = device.createBindGroupLayout({
      label: 'params',
      entries: [{ binding: 0, visibility: 4 /* COMPUTE */, buffer: { type: 'uniform', hasDynamicOffset: true } }],
    });
    this.paramBuffer = device.createBuffer({
      label: 'param ring',
      size: PARAM_SLOT * PARAM_SLOTS,
      usage: 0x40 /* UNIFORM */ | 0x08 /* COPY_DST */,
    });
    this.paramBindGroup = device.createBindGroup({
      layout: this.paramLayout,
      entries: [{ binding: 0, resource: { buffer: this.paramBuffer, size: PARAM_SLOT } }],
    });
  }

  /** The compiled kernel for this WGSL source, from the cache or compiled now (synchronously). */
  kernel(name: string, source: string): Kernel {
    const hit = this.kernels.get(source);
    if (hit) return hit;
    const { bindings, hasParams } = parseBindings(source);
    const storage = bindings.filter((b) => b !== 'uniform').length;
    if (storage > this.limits.maxStorageBuffersPerShaderStage) {
      throw new Error(
        `kernel ${name} binds ${storage} storage buffers; the device allows ${this.limits.maxStorageBuffersPerShaderStage} per stage (as browsers do: adapter.ts STORAGE_BUFFERS_PER_STAGE)`,
      );
    }
    const module = this.device.createShaderModule({ label: name, code: source });
    const ready = module.getCompilationInfo().then((info) => {
      const err = info.messages.find((m) => m.type === 'error');
      if (err) throw new WgslCompileError(name, err.lineNum, err.linePos, err.message, source);
    });
    // Record the failure for the next sync() even if nobody awaits `ready`.
    ready.catch((e: Error) => this.errors.unshift(e));
    const layout0 = this.device.createBindGroupLayout({
      label: name,
      entries: bindings.map((kind, binding) => ({ binding, visibility: 4, buffer: { type: bufferType(kind) } })),
    });
    const layouts = hasParams ? [layout0, this.paramLayout] : [layout0];
    // Synchronous creation on purpose: createComputePipelineAsync crashed dawn.node with subgroup-matrix shaders.
    const pipeline = this.device.createComputePipeline({
      label: name,
      layout: this.device.createPipelineLayout({ label: name, bindGroupLayouts: layouts }),
      compute: { module, entryPoint: 'main' },
    });
    const k: Kernel = { name, source, pipeline, layout0, bindings, hasParams, ready };
    this.kernels.set(source, k);
    return k;
  }

  /** Compile now and throw a WgslCompileError (kernel name, line, excerpt) if the WGSL is wrong. */
  async compile(name: string, source: string): Promise<Kernel> {
    const k = this.kernel(name, source);
    await k.ready;
    return k;
  }

  /**
   * Record one dispatch. `groups` is the workgroup grid (x, y, z); `params` (≤ 256 bytes) fills the kernel's
   * `@group(1) @binding(0)` uniform for this dispatch only.
   */
  dispatch(k: Kernel, buffers: readonly Binding[], groups: number | readonly number[], params?: ArrayBufferView): void {
    this.checkAlive();
    const [x, y = 1, z = 1] = typeof groups === 'number' ? [groups] : groups;
    const max = this.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max) {
      throw new GpuError(`kernel '${k.name}': grid ${x}×${y}×${z} exceeds ${max} per dimension (use grid2d)`);
    }
    if (x === 0 || y === 0 || z === 0) {
      this.checkArgs(k, buffers, params);
      return;
    }
    this.record(k, buffers, params, (pass) => pass.dispatchWorkgroups(x, y, z), [x, y, z], null);
  }

  /**
   * Record one dispatch whose workgroup grid is read on the GPU: three u32 (x, y, z) at byte `offset` (a multiple
   * of 4) of `indirect`, which the GPU may have written earlier in the same submission. Pooled buffers carry the
   * INDIRECT usage. A grid over the per-dimension limit is dropped by the GPU (WebGPU validation), so kernels that
   * write the arguments must split large grids (see grid1d).
   */
  dispatchIndirect(
    k: Kernel,
    buffers: readonly Binding[],
    indirect: GPUBuffer,
    offset: number,
    params?: ArrayBufferView,
  ): void {
    this.checkAlive();
    if (offset % 4 !== 0 || offset + 12 > indirect.size) {
      throw new GpuError(`kernel '${k.name}': indirect offset ${offset} is not 4-aligned or past the buffer`);
    }
    this.record(k, buffers, params, (pass) => pass.dispatchWorkgroupsIndirect(indirect, offset), null, {
      buffer: indirect,
      offset,
    });
  }

  private checkArgs(k: Kernel, buffers: readonly Binding[], params?: ArrayBufferView): void {
    if (buffers.length !== k.bindings.length) {
      throw new GpuError(`kernel '${k.name}' takes ${k.bindings.length} buffers, got ${buffers.length}`);
    }
    if (k.hasParams !== (params !== undefined)) {
      throw new GpuError(`kernel '${k.name}' ${k.hasParams ? 'needs' : 'takes no'} parameters`);
    }
  }

  private record(
    k: Kernel,
    buffers: readonly Binding[],
    params: ArrayBufferView | undefined,
    go: (pass: GPUComputePassEncoder) => void,
    grid: readonly [number, number, number] | null,
    indirect: { buffer: GPUBuffer; offset: number } | null,
  ): void {
    this.checkArgs(k, buffers, params);
    let offset = 0;
    if (params) {
      if (params.byteLength > PARAM_SLOT) throw new GpuError(`kernel '${k.name}': parameters over ${PARAM_SLOT} bytes`);
      if (this.paramUsed + PARAM_SLOT > this.paramData.byteLength) this.flush();
      offset = this.paramUsed;
      new Uint8Array(this.paramData, offset, params.byteLength).set(
        new Uint8Array(params.buffer, params.byteOffset, params.byteLength),
      );
      this.paramUsed += PARAM_SLOT;
    }
    if (this.profiler) {
      this.endPass();
      this.pass = this.commandEncoder().beginComputePass({ timestampWrites: this.profiler.nextPass(k.name) });
    }
    const pass = this.computePass();
    const bind0 = this.bindGroup(k, buffers);
    pass.setPipeline(k.pipeline);
    pass.setBindGroup(0, bind0);
    if (this.captured) {
      const uses = buffers.map((b) => ('buffer' in b ? b.buffer : b));
      this.keep({
        kind: 'dispatch',
        pipeline: k.pipeline,
        bind0,
        params: params ? new Uint8Array(params.buffer, params.byteOffset, params.byteLength).slice() : null,
        grid,
        indirect,
        uses: indirect ? [...uses, indirect.buffer] : uses,
      });
    }
    if (params) pass.setBindGroup(1, this.paramBindGroup, [offset]);
    go(pass);
    this.dispatchCount++;
    if (this.profiler) this.endPass();
    if (this.autoFlushDispatches > 0 && ++this.sinceFlush >= Math.min(this.flushAt, this.autoFlushDispatches)) {
      this.flush();
      this.flushAt = Math.min(2 * this.flushAt, 1 << 20);
    }
  }

  /**
   * Run `fn` (which records GPU work as usual) and keep what it recorded as a Replay that re-encodes the same
   * dispatches, copies, clears and uploads on the same buffers for a few µs of CPU each (capture.ts: the contract).
   * The work of this call runs normally too.
   */
  capture(fn: () => void): Replay {
    this.checkAlive();
    if (this.captured) throw new GpuError('capture: already capturing');
    if (this.profiler) throw new GpuError('capture: not while a profiler is attached');
    const ops: CapturedOp[] = [];
    this.captured = ops;
    this.capturedBuffers = new Set();
    try {
      fn();
    } finally {
      this.captured = null;
    }
    // temporaries the work released are free now: keep them out of the pool while the replay lives
    const used = [...this.capturedBuffers];
    const reserved = used.filter((b) => this.pool.isFree(b));
    const held = used.filter((b) => this.pool.owns(b) && !this.pool.isFree(b));
    this.capturedBuffers = new Set();
    this.pool.reserve(reserved);
    const pool = this.pool;
    return new Replay(
      {
        device: this.device,
        paramLayout: this.paramLayout,
        flush: () => this.flush(),
        unreserve: (b) => b.forEach((x) => pool.release(x)),
        released: (b) => !pool.owns(b) || pool.isFree(b), // free, or destroyed by pool.trim()
      },
      ops,
      reserved,
      held,
    );
  }

  /**
   * Run `fn` now and, inside a capture, again at this point of every replay of it: the way per-run values the CPU
   * computes (an optimizer's step count and learning rate) reach a captured step, typically by `upload`. What `fn`
   * records is not part of the capture (it is recorded anew each replay, ordered between the replay's work before
   * and after it).
   */
  perRun(fn: () => void): void {
    this.once(fn);
    this.keep({ kind: 'perRun', fn });
  }

  /**
   * Run `fn` now; inside a capture, what it records runs this once and is not part of the capture (one-time setup
   * such as zeroing an optimizer's new state, which a replay must not repeat).
   */
  once<T>(fn: () => T): T {
    const ops = this.captured;
    if (!ops) return fn();
    // What fn acquires must not be a buffer the captured work used before (released, free now): each replay would
    // run that earlier use again over what fn put there. So those stay out of the pool while fn runs.
    const used = [...this.capturedBuffers].filter((b) => this.pool.isFree(b));
    this.pool.reserve(used);
    this.captured = null;
    try {
      return fn();
    } finally {
      this.captured = ops;
      for (const b of used) this.pool.release(b);
    }
  }

  /** Keep a recorded op in the capture (when capturing). */
  private keep(op: CapturedOp): void {
    if (!this.captured) return;
    this.captured.push(op);
    if (op.kind === 'dispatch') for (const b of op.uses) this.capturedBuffers.add(b);
    else if (op.kind === 'copy') this.capturedBuffers.add(op.src).add(op.dst);
    else if (op.kind !== 'perRun') this.capturedBuffers.add(op.buf);
  }

  /** Attach (or with null detach) a per-kernel profiler: each dispatch then runs in its own timed pass. */
  profile(p: KernelProfiler | null): void {
    this.endPass();
    this.profiler = p;
  }

  /** Record a buffer-to-buffer copy (sizes and offsets in bytes, multiples of 4). */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    this.checkAlive();
    if (size === 0) return;
    // between storage buffers: a dispatch in the open compute pass rather than a pass break (copy-kernel.ts)
    const STORAGE = 0x80;
    const bindable = (b: GPUBuffer) => (b.usage & STORAGE) !== 0 && b.size <= this.limits.maxStorageBufferBindingSize;
    if (src !== dst && bindable(src) && bindable(dst)) {
      const vec4 = srcOffset % 16 === 0 && dstOffset % 16 === 0 && size % 16 === 0;
      const w = vec4 ? 16 : 4;
      const k = this.kernel(vec4 ? 'copy:4' : 'copy:1', copyKernelWgsl(vec4));
      const n = size / w;
      const groups = Math.min(COPY_MAX_GROUPS, Math.ceil(n / COPY_WORKGROUP));
      this.dispatch(k, [src, dst], groups, Uint32Array.from([n, srcOffset / w, dstOffset / w]));
      return;
    }
    this.endPass();
    this.commandEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, size);
    this.keep({ kind: 'copy', src, srcOffset, dst, dstOffset, size });
  }

  /** Record zero-filling of a buffer range (bytes, multiples of 4). */
  clear(buf: GPUBuffer, offset = 0, size?: number): void {
    this.checkAlive();
    this.endPass();
    this.commandEncoder().clearBuffer(buf, offset, size);
    this.keep({ kind: 'clear', buf, offset, size });
  }

  /**
   * Write CPU data into a buffer, ordered after the work recorded so far. (queue.writeBuffer runs before any
   * command buffer submitted after it, so pending work is submitted first.)
   */
  upload(buf: GPUBuffer, data: ArrayBufferView, offset = 0): void {
    this.checkAlive();
    this.flush();
    const bytes = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
    const padded = bytes.byteLength % 4 === 0 ? bytes : new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
    if (padded !== bytes) padded.set(bytes);
    this.device.queue.writeBuffer(buf, offset, padded);
    if (this.captured) this.keep({ kind: 'upload', buf, offset, bytes: padded.slice() });
  }

  /** A new pooled storage buffer holding `data`. */
  bufferFrom(data: ArrayBufferView, label = 'data'): GPUBuffer {
    const buf = this.pool.acquire(data.byteLength, label);
    this.upload(buf, data);
    return buf;
  }

  /** Submit everything recorded so far (does not wait). */
  flush(): void {
    this.sinceFlush = 0;
    if (!this.encoder) return;
    this.endPass();
    const cmd = this.encoder.finish();
    this.encoder = null;
    if (this.paramUsed > 0) {
      this.device.queue.writeBuffer(this.paramBuffer, 0, this.paramData, 0, this.paramUsed);
      this.paramUsed = 0;
    }
    this.device.queue.submit([cmd]);
  }

  /** Submit, wait for the GPU to finish, and throw any error collected since the last sync. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.flushAt = 8; // the GPU is idle now
    await Promise.resolve(); // let compilation-info callbacks land before we look
    this.throwErrors();
  }

  /** Read `size` bytes at `offset` of a buffer back to the CPU, after all recorded work. */
  async read(buf: GPUBuffer, offset = 0, size?: number): Promise<ArrayBuffer> {
    this.checkAlive();
    if (this.captured) throw new GpuError('capture: the captured work reads back to the CPU, which a replay cannot');
    const n = size ?? buf.size - offset;
    const aligned = Math.ceil(n / 4) * 4;
    const staging = this.device.createBuffer({ size: Math.max(4, aligned), usage: 0x01 /* MAP_READ */ | 0x08 });
    this.copy(buf, offset, staging, 0, aligned);
    this.flush();
    try {
      await staging.mapAsync(1 /* READ */);
      this.flushAt = 8; // the GPU may be idle now
      return staging.getMappedRange(0, aligned).slice(0, n);
    } catch (e) {
      this.throwErrors();
      throw e;
    } finally {
      staging.destroy();
      this.throwErrors();
    }
  }

  async readF32(buf: GPUBuffer, count: number, offsetElems = 0): Promise<Float32Array> {
    return new Float32Array(await this.read(buf, offsetElems * 4, count * 4));
  }

  /** End the current compute pass (so a timestamp or copy can follow). */
  endPass(): void {
    this.pass?.end();
    this.pass = null;
  }

  /** The open command encoder (for modules that record their own passes, e.g. render passes). */
  commandEncoder(): GPUCommandEncoder {
    this.checkAlive();
    return (this.encoder ??= this.device.createCommandEncoder());
  }

  /** Release the device. The Gpu must not be used afterwards. */
  destroy(): void {
    this.destroyed = true;
    this.pool.trim();
    this.device.destroy();
  }

  get isLost(): boolean {
    return this.lost !== null;
  }

  private computePass(): GPUComputePassEncoder {
    return (this.pass ??= this.commandEncoder().beginComputePass());
  }

  private bindGroup(k: Kernel, buffers: readonly Binding[]): GPUBindGroup {
    let key = '';
    for (const b of buffers) {
      const buf = 'buffer' in b ? b.buffer : b;
      let id = this.bufferIds.get(buf);
      if (id === undefined) this.bufferIds.set(buf, (id = this.nextBufferId++));
      key += 'buffer' in b ? `|${id}:${b.offset ?? 0}:${b.size ?? ''}` : `|${id}`;
    }
    let cache = this.bindGroups.get(k);
    if (!cache) this.bindGroups.set(k, (cache = new Map()));
    let bg = cache.get(key);
    if (bg) return bg;
    // Pooled buffers recur, so the cache stays small in a loop; the bound keeps one-off buffer sets from piling up.
    if (cache.size > 1024) cache.clear();
    this.bindGroupsCreated++;
    bg = this.device.createBindGroup({
      label: k.name,
      layout: k.layout0,
      entries: buffers.map((b, binding) => ({
        binding,
        resource: 'buffer' in b ? { buffer: b.buffer, offset: b.offset ?? 0, size: b.size } : { buffer: b },
      })),
    });
    cache.set(key, bg);
    return bg;
  }

  private checkAlive(): void {
    if (this.lost) throw new DeviceLostError(`GPU device lost (${this.lost.reason}): ${this.lost.message}`);
  }

  private throwErrors(): void {
    this.checkAlive();
    if (this.errors.length === 0) return;
    const errs = this.errors.splice(0);
    const first = errs[0]!;
    if (errs.length === 1) throw first;
    const more = errs
      .slice(1, 4)
      .map((e) => `  also: ${e.message.split('\n')[0]}`)
      .join('\n');
    throw new GpuError(`${first.message}\n${more}${errs.length > 4 ? `\n  (${errs.length - 4} more)` : ''}`);
  }
}

function bufferType(kind: BindingKind): GPUBufferBindingType {
  return kind === 'uniform' ? 'uniform' : kind === 'read' ? 'read-only-storage' : 'storage';
}

export { describeAdapter };
