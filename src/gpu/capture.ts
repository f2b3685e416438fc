/**
 * Capture and replay of recorded GPU work (a "graph"): the frozen network's forward records ~145 dispatches per
 * frame, and recording costs 20–70 µs of CPU per dispatch (kernel lookup, shape logic, pooled buffers, bind groups),
 * 3–10 ms per frame depending on the host (bench/RESULTS.md, 2026-11-28d: the one-run figure moved 9.2–11.3 ms with
 * the host's CPU while the GPU work stayed at ~8.2 ms). A capture keeps what was recorded — pipelines, bind groups,
 * workgroup grids, parameter bytes, copies, clears and uploads — and `run()` re-encodes it directly, a few µs per
 * dispatch.
 *
 * Contract: the replay reads and writes the same buffers as the captured run. Its inputs are whatever those buffers
 * hold when `run()` is called (write new inputs into them with gpu.upload first), its outputs land where the
 * captured run put them. Buffers the captured work used and released back to the pool are taken out of the pool
 * for the replay's lifetime (`dispose()` returns them); buffers still held by the caller (inputs, weights, outputs)
 * stay the caller's and must outlive the replay (`run()` throws if one has gone back to the pool). Uploads made
 * during the capture are replayed with the same bytes. Work that reads back to the CPU cannot be captured (its
 * decisions would not replay), and values the CPU computes per run and passes as dispatch parameters are replayed
 * as captured. Per-run values go through `Gpu.perRun(fn)` instead: `fn` runs again at its place in every replay,
 * e.g. to upload the step's values into a buffer the captured kernels read (Adam's bias corrections and learning
 * rate, src/nn/optim.ts), so a whole training step is capturable. State that must persist from one replay to the next and is created inside the capture (an
 * optimizer's moments) is made in `Gpu.once(fn)`: its work is not replayed, and it gets buffers the captured work
 * never used (a buffer released earlier in the captured work and handed out again would be overwritten by that
 * earlier use at every replay). Outputs created inside the capture need no such care: the captured work writes them
 * after any earlier use of their buffer.
 */
import { PARAM_SLOT } from './params.js';

export type CapturedOp =
  | {
      kind: 'dispatch';
      pipeline: GPUComputePipeline;
      bind0: GPUBindGroup;
      params: Uint8Array | null;
      grid: readonly [number, number, number] | null;
      indirect: { buffer: GPUBuffer; offset: number } | null;
      /** The buffers the bind group holds (and the indirect buffer). */
      uses: readonly GPUBuffer[];
    }
  | { kind: 'copy'; src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; size: number }
  | { kind: 'clear'; buf: GPUBuffer; offset: number; size: number | undefined }
  | { kind: 'upload'; buf: GPUBuffer; offset: number; bytes: Uint8Array<ArrayBuffer> }
  /** Gpu.perRun: CPU work that runs again at this point of every replay (and records what it records anew). */
  | { kind: 'perRun'; fn: () => void };

/** What the runtime needs from its owner to replay (the Gpu). */
export interface ReplayHost {
  readonly device: GPUDevice;
  readonly paramLayout: GPUBindGroupLayout;
  /** Submit everything recorded so far, so the replay runs after it. */
  flush(): void;
  /** Give buffers the capture took out of the pool back to it. */
  unreserve(buffers: readonly GPUBuffer[]): void;
  /** Whether a buffer the caller held at capture time has since gone back to the pool (released, reusable). */
  released(buffer: GPUBuffer): boolean;
}

/**
 * Submit after this many replayed dispatches, then after twice as many each time, so the GPU starts while the rest
 * is encoded and is not left waiting for one long tail (the Gpu's own flushes grow the same way).
 */
const FIRST_BATCH = 8;

export class Replay {
  readonly dispatches: number;
  private readonly params: GPUBuffer | null;
  private readonly paramGroup: GPUBindGroup | null;
  private readonly offsets: number[] = [];
  private disposed = false;

  constructor(
    private readonly host: ReplayHost,
    private readonly ops: readonly CapturedOp[],
    private readonly reserved: readonly GPUBuffer[],
    /** The buffers the captured work uses that the caller holds (inputs, weights, outputs, state). */
    private readonly held: readonly GPUBuffer[],
  ) {
    let n = 0;
    let slots = 0;
    for (const op of ops) {
      if (op.kind !== 'dispatch') continue;
      n++;
      this.offsets.push(op.params ? slots++ * PARAM_SLOT : -1);
    }
    this.dispatches = n;
    if (slots > 0) {
      const data = new Uint8Array(slots * PARAM_SLOT);
      let i = 0;
      for (const op of ops) if (op.kind === 'dispatch' && op.params) data.set(op.params, i++ * PARAM_SLOT);
      this.params = host.device.createBuffer({
        label: 'replay params',
        size: data.byteLength,
        usage: 0x40 /* UNIFORM */ | 0x08 /* COPY_DST */,
      });
      host.device.queue.writeBuffer(this.params, 0, data);
      this.paramGroup = host.device.createBindGroup({
        layout: host.paramLayout,
        entries: [{ binding: 0, resource: { buffer: this.params, size: PARAM_SLOT } }],
      });
    } else {
      this.params = null;
      this.paramGroup = null;
    }
  }

  /** Run the captured work again (after anything recorded before; does not wait). */
  run(): void {
    if (this.disposed) throw new Error('Replay.run: the replay was disposed');
    // a released input or output may already serve someone else: replaying would write over it
    for (const b of this.held)
      if (this.host.released(b))
        throw new Error(
          `Replay.run: buffer '${b.label}' that the captured work uses was released since the capture (keep the tensors a replay reads and writes alive until dispose())`,
        );
    this.host.flush();
    const device = this.host.device;
    let encoder: GPUCommandEncoder | null = null;
    let pass: GPUComputePassEncoder | null = null;
    let sinceSubmit = 0;
    let batch = FIRST_BATCH;
    const endPass = () => {
      pass?.end();
      pass = null;
    };
    const submit = () => {
      endPass();
      if (encoder) device.queue.submit([encoder.finish()]);
      encoder = null;
      sinceSubmit = 0;
    };
    let d = 0;
    for (const op of this.ops) {
      if (op.kind === 'upload') {
        submit(); // the upload lands after the work before it, as in the captured run
        device.queue.writeBuffer(op.buf, op.offset, op.bytes);
        continue;
      }
      if (op.kind === 'perRun') {
        submit(); // what it records or uploads lands after the work before it…
        op.fn();
        this.host.flush(); // …and before the work after it
        continue;
      }
      encoder ??= device.createCommandEncoder();
      if (op.kind === 'dispatch') {
        pass ??= encoder.beginComputePass();
        pass.setPipeline(op.pipeline);
        pass.setBindGroup(0, op.bind0);
        const off = this.offsets[d++]!;
        if (off >= 0) pass.setBindGroup(1, this.paramGroup!, [off]);
        if (op.indirect) pass.dispatchWorkgroupsIndirect(op.indirect.buffer, op.indirect.offset);
        else pass.dispatchWorkgroups(op.grid![0], op.grid![1], op.grid![2]);
        if (++sinceSubmit >= batch) {
          batch *= 2;
          submit();
        }
      } else if (op.kind === 'copy') {
        endPass();
        encoder.copyBufferToBuffer(op.src, op.srcOffset, op.dst, op.dstOffset, op.size);
      } else {
        endPass();
        encoder.clearBuffer(op.buf, op.offset, op.size);
      }
    }
    submit();
  }

  /** Give the reserved buffers back to the pool; the replay cannot run afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.host.unreserve(this.reserved);
    this.params?.destroy();
  }
}
