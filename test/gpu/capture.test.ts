/**
 * Gpu.capture / Replay (src/gpu/capture.ts): a replay re-encodes the captured dispatches (with their parameters),
 * copies, clears and uploads on the same buffers; it reads its inputs as they are when it runs; the temporaries the
 * captured work released stay out of the pool until dispose(); read-backs and nested captures are refused. Then a
 * frozen tiny DualStyleUNet forward replayed on new inputs matches a recorded forward on them.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { getGpu } from '../../src/gpu/index.js';
import { DualStyleUNet } from '../../src/nn/styleunet/network.js';
import { backward, initEngine, mul, noGrad, scope, sum, Tensor } from '../../src/tensor/index.js';
import { Adam } from '../../src/nn/optim.js';
import { gpu as engineGpu } from '../../src/tensor/tensor.js';
import { randomF32, relError, seededRandom } from '../helpers/numeric.js';
import { TINY, tinyParams } from '../nn/tiny-unet.js';

const AXPB = /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
struct P { a: f32, b: f32, n: u32 }
@group(1) @binding(0) var<uniform> p: P;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u) { if (g.x < p.n) { Y[g.x] = p.a * X[g.x] + p.b; } }`;

const params = (a: number, b: number, n: number) => {
  const v = new DataView(new ArrayBuffer(12));
  v.setFloat32(0, a, true);
  v.setFloat32(4, b, true);
  v.setUint32(8, n, true);
  return new Uint8Array(v.buffer);
};

describe('Gpu.capture', () => {
  it('replays dispatches with their parameters, copies, clears and uploads on the same buffers', async () => {
    const gpu = await getGpu();
    const k = gpu.kernel('capture_axpb', AXPB);
    const n = 100;
    const base = gpu.pool.stats.bytesInUse;
    const x = gpu.bufferFrom(Float32Array.from({ length: n }, (_, i) => i));
    const out = gpu.pool.acquire(n * 4);
    const consts = gpu.pool.acquire(16);
    const temps: GPUBuffer[] = [];
    const replay = gpu.capture(() => {
      const t = gpu.pool.acquire(n * 4);
      const t2 = gpu.pool.acquire(n * 4);
      temps.push(t, t2);
      gpu.dispatch(k, [x, t], [2], params(2, 1, n)); // t = 2x + 1
      gpu.dispatch(k, [t, t2], [2], params(0.5, 0, n)); // t2 = x + 0.5
      gpu.copy(t2, 0, out, 0, n * 4);
      gpu.upload(consts, new Float32Array([7, 8, 9, 10]));
      gpu.clear(consts, 4, 4); // [7, 0, 9, 10]
      gpu.pool.release(t);
      gpu.pool.release(t2);
    });
    expect(replay.dispatches).toBe(3); // the copy between storage buffers is a dispatch too (copy-kernel.ts)
    expect(Array.from(await gpu.readF32(out, 3))).toEqual([0.5, 1.5, 2.5]);

    // the released temporaries are the replay's now: the pool hands out other buffers
    const others = [gpu.pool.acquire(n * 4), gpu.pool.acquire(n * 4), gpu.pool.acquire(n * 4)];
    for (const b of others) expect(temps).not.toContain(b);
    for (const b of others) gpu.dispatch(k, [x, b], [2], params(0, -1, n)); // scribble

    // new inputs, then the replay: outputs from the new inputs, the captured upload and clear again
    gpu.upload(
      x,
      Float32Array.from({ length: n }, (_, i) => 10 * i),
    );
    gpu.clear(out);
    gpu.upload(consts, new Float32Array([0, 0, 0, 0]));
    replay.run();
    const y = await gpu.readF32(out, n);
    expect(y[0]).toBe(0.5);
    expect(y[99]).toBe(990.5);
    expect(Array.from(await gpu.readF32(consts, 4))).toEqual([7, 0, 9, 10]);
    replay.run(); // twice in a row, same result
    expect((await gpu.readF32(out, n))[42]).toBe(420.5);

    replay.dispose();
    expect(() => replay.run()).toThrow(/disposed/);
    for (const b of [...others, x, out, consts]) gpu.pool.release(b);
    expect(gpu.pool.stats.bytesInUse).toBe(base);
  });

  it('runs perRun hooks again at their place in every replay, and work in once() only once', async () => {
    const gpu = await getGpu();
    const k = gpu.kernel('capture_axpb', AXPB);
    const n = 8;
    const x = gpu.bufferFrom(Float32Array.from({ length: n }, (_, i) => i));
    const a = gpu.pool.acquire(16);
    const y = gpu.pool.acquire(n * 4);
    const z = gpu.pool.acquire(n * 4);
    const log: number[] = [];
    let run = 0;
    let state: GPUBuffer | undefined;
    const replay = gpu.capture(() => {
      const t = gpu.pool.acquire(n * 4); // a temporary of the captured work…
      gpu.dispatch(k, [x, t], [1], params(1, 0, n));
      gpu.pool.release(t);
      // …is not handed out again for state made in once(), which replays must not overwrite
      state = gpu.once(() => gpu.pool.acquire(n * 4));
      expect(state).not.toBe(t);
      gpu.once(() => gpu.upload(z, new Float32Array(n).fill(5))); // setup: not replayed
      gpu.perRun(() => {
        run++;
        log.push(run);
        gpu.upload(a, new Float32Array([run, 0, 0, 0])); // a per-run value the next dispatch reads
      });
      gpu.copy(a, 0, y, 0, 4); // y[0] = run, ordered after the hook's upload
      gpu.dispatch(k, [x, z], [1], params(1, 1, n)); // z = x + 1
    });
    expect(log).toEqual([1]);
    expect((await gpu.readF32(y, 1))[0]).toBe(1);
    gpu.upload(z, new Float32Array(n).fill(-1));
    replay.run();
    replay.run();
    expect(log).toEqual([1, 2, 3]);
    expect((await gpu.readF32(y, 1))[0]).toBe(3);
    expect(Array.from(await gpu.readF32(z, 3))).toEqual([1, 2, 3]);
    replay.dispose();
    for (const b of [x, a, y, z, state!]) gpu.pool.release(b);
  });

  it('refuses to replay once a buffer it reads or writes has been released', async () => {
    const gpu = await getGpu();
    const k = gpu.kernel('capture_axpb', AXPB);
    const x = gpu.bufferFrom(new Float32Array(4));
    const y = gpu.pool.acquire(16, 'replay output');
    const replay = gpu.capture(() => gpu.dispatch(k, [x, y], [1], params(1, 0, 4)));
    replay.run();
    gpu.pool.release(y);
    expect(() => replay.run()).toThrow(/was released since the capture/);
    replay.dispose();
    gpu.pool.release(x);
  });

  it('refuses read-backs inside a capture and nested captures', async () => {
    const gpu = await getGpu();
    const b = gpu.pool.acquire(16);
    let pending: Promise<unknown> | null = null;
    gpu
      .capture(() => {
        pending = gpu.read(b);
        expect(() => gpu.capture(() => {})).toThrow(/already capturing/);
      })
      .dispose();
    await expect(pending).rejects.toThrow(/reads back/);
    gpu.pool.release(b);
  });
});

describe('Gpu.capture of a frozen DualStyleUNet forward', () => {
  beforeAll(async () => {
    await initEngine();
  });

  it('replayed on new inputs, matches a recorded forward on them', async () => {
    const S = TINY.inpSize;
    const rand = seededRandom(31);
    const net = DualStyleUNet.fromStateDict(TINY, tinyParams(6));
    const viewCh = net.spec.viewCh;
    const x = Tensor.from(randomF32(3 * S * S, rand), [1, 3, S, S], { persistent: true });
    const views = [0, 1].map(() =>
      Tensor.from(randomF32(viewCh * (S / 2) ** 2, rand), [1, viewCh, S / 2, S / 2], { persistent: true }),
    ) as [Tensor, Tensor];
    net.freezeForInference();
    const forward = (): Tensor => noGrad(() => scope(() => net.forward(x, views)));
    forward().dispose(); // builds the frozen weights outside the capture
    const gpu = engineGpu();
    let yc: Tensor | undefined;
    const d0 = gpu.dispatchCount;
    const replay = gpu.capture(() => {
      yc = forward();
    });
    expect(replay.dispatches).toBe(gpu.dispatchCount - d0);
    if (!yc) throw new Error('no output');

    // new inputs: a recorded forward on them is the reference
    const xb = randomF32(3 * S * S, rand);
    gpu.upload(x.buffer, xb);
    const ref = forward();
    const want = await ref.toArray();
    ref.dispose();
    gpu.upload(x.buffer, xb);
    replay.run();
    const got = await yc.toArray();
    expect(relError(got, want)).toBe(0); // the same kernels on the same inputs
    replay.dispose();
    yc.dispose();
    net.dispose();
    for (const t of [x, ...views]) t.dispose();
  });

  it('a captured training step with Adam, replayed, matches the same steps run eagerly', async () => {
    const S = TINY.inpSize;
    const rand = seededRandom(32);
    const net0 = DualStyleUNet.fromStateDict(TINY, tinyParams(7));
    const viewCh = net0.spec.viewCh;
    net0.dispose();
    const x = Tensor.from(randomF32(3 * S * S, rand), [1, 3, S, S], { persistent: true });
    const views = [0, 1].map(() =>
      Tensor.from(randomF32(viewCh * (S / 2) ** 2, rand), [1, viewCh, S / 2, S / 2], { persistent: true }),
    ) as [Tensor, Tensor];
    const O = TINY.outSize;
    const r = Tensor.from(randomF32(2 * TINY.outCh * O * O, rand), [1, 2 * TINY.outCh, O, O], { persistent: true });
    const setUp = () => {
      const net = DualStyleUNet.fromStateDict(TINY, tinyParams(7));
      const opt = new Adam(net.parameters(), { lr: 1e-2 });
      const step = () =>
        scope(() => {
          opt.zeroGrad();
          backward(sum(mul(net.forward(x, views), r)));
          opt.step();
          opt.zeroGrad();
        });
      return { net, opt, step };
    };
    const lrs = [1e-2, 1e-2, 3e-3, 2e-3];
    const eager = setUp();
    for (const lr of lrs) {
      eager.opt.lr = lr;
      eager.step();
    }
    const gpu = engineGpu();
    const captured = setUp();
    const replay = gpu.capture(captured.step); // the first step, captured (Adam's state is created in it)
    for (const lr of lrs.slice(1)) {
      captured.opt.lr = lr;
      replay.run();
    }
    const pe = eager.net.parameters();
    const pc = captured.net.parameters();
    for (let i = 0; i < pe.length; i++) {
      expect(relError(await pc[i]!.toArray(), await pe[i]!.toArray()), `parameter ${i}`).toBe(0);
      expect(captured.opt.stateOf(pc[i]!)?.step).toBe(lrs.length);
    }
    replay.dispose();
    for (const s of [eager, captured]) {
      s.opt.dispose();
      s.net.dispose();
    }
    for (const t of [x, r, ...views]) t.dispose();
  });
});
