/**
 * Adam exactly as torch.optim.Adam (defaults β = (0.9, 0.999), eps 1e-8, no weight decay, no amsgrad): per parameter
 * m ← β1·m + (1−β1)·g, v ← β2·v + (1−β2)·g², p ← p − (lr/(1−β1ᵗ)) · m / (√v/√(1−β2ᵗ) + eps), with t counted per
 * parameter (a parameter whose grad is null is skipped and its t does not advance). One fused kernel per parameter;
 * state stays on the GPU.
 *
 * Capturable (Gpu.capture): the per-step scalars — lr/(1−β1ᵗ) and 1/√(1−β2ᵗ), computed in float64 on the CPU as
 * before — travel in a small buffer the kernels read, uploaded by a Gpu.perRun hook. A replayed training step thus
 * advances each stepped parameter's t and takes `adam.lr` as it is at replay time (a learning rate passed to step()
 * inside a capture is replayed as given). The parameters that get a gradient are those of the captured step.
 */
import { cachedKernel, dispatch1d, f, main1d, params as pack } from '../tensor/kernels/util.js';
import { Tensor } from '../tensor/index.js';
import { gpu } from '../tensor/tensor.js';

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
}

export interface AdamParamState {
  step: number;
  m: Tensor;
  v: Tensor;
}

function adamWgsl(vec: boolean): string {
  return /* wgsl */ `alias T = ${vec ? 'vec4<f32>' : 'f32'};
@group(0) @binding(0) var<storage, read_write> Pm: array<T>;
@group(0) @binding(1) var<storage, read> G: array<T>;
@group(0) @binding(2) var<storage, read_write> M: array<T>;
@group(0) @binding(3) var<storage, read_write> V: array<T>;
// per parameter j: [lr/(1−β1ᵗ), 1/√(1−β2ᵗ)], written each step (Adam.step's perRun hook)
@group(0) @binding(4) var<storage, read> S: array<f32>;
struct PP { n: u32, b1: f32, b2: f32, eps: f32, j: u32 }
@group(1) @binding(0) var<uniform> P: PP;
${main1d('P.n')}
  let stepSize = S[2u * P.j];
  let invBc2Sqrt = S[2u * P.j + 1u];
  let g = G[i];
  let m = P.b1 * M[i] + (1.0 - P.b1) * g;
  let v = P.b2 * V[i] + (1.0 - P.b2) * g * g;
  M[i] = m;
  V[i] = v;
  Pm[i] = Pm[i] - stepSize * m / (sqrt(v) * invBc2Sqrt + T(P.eps));
}`;
}

export class Adam {
  readonly params: readonly Tensor[];
  lr: number;
  readonly betas: [number, number];
  readonly eps: number;
  private readonly state = new Map<Tensor, AdamParamState>();
  /** [lr/(1−β1ᵗ), 1/√(1−β2ᵗ)] per parameter (index in `params`), f32 on the GPU; created at the first step. */
  private scalars: GPUBuffer | null = null;

  constructor(params: Iterable<Tensor>, opts: AdamOptions = {}) {
    this.params = [...params];
    this.lr = opts.lr ?? 1e-3;
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    for (const p of this.params) {
      if (p.dtype !== 'f32') throw new Error(`Adam: parameter ${p} is not f32`);
    }
  }

  /**
   * One update of every parameter that has a gradient, with learning rate `lr` (default: this.lr, read when the
   * step runs, so also at each replay of a captured step).
   */
  step(lr?: number): void {
    const [b1, b2] = this.betas;
    const engine = gpu();
    const stepped: Array<[number, Tensor, Tensor, AdamParamState]> = [];
    this.params.forEach((p, j) => {
      const g = p.grad;
      if (!g) return;
      if (g.size !== p.size) throw new Error(`Adam: grad of ${g.size} elements for parameter ${p}`);
      let st = this.state.get(p);
      if (!st) {
        // zeroed once, also when the first step is being captured (a replay must not zero it again)
        st = engine.once(() => ({
          step: 0,
          m: Tensor.zeros(p.shape, { persistent: true, label: 'adam.m' }),
          v: Tensor.zeros(p.shape, { persistent: true, label: 'adam.v' }),
        }));
        this.state.set(p, st);
      }
      stepped.push([j, p, g, st]);
    });
    if (stepped.length === 0) return;
    const scalars = (this.scalars ??= engine.once(() => engine.pool.acquire(8 * this.params.length, 'adam scalars')));
    const values = new Float32Array(2 * this.params.length);
    engine.perRun(() => {
      const rate = lr ?? this.lr;
      for (const [j, , , st] of stepped) {
        st.step++;
        values[2 * j] = rate / (1 - b1 ** st.step);
        values[2 * j + 1] = 1 / Math.sqrt(1 - b2 ** st.step);
      }
      engine.upload(scalars, values);
    });
    for (const [j, p, g, st] of stepped) {
      const vec = p.size % 4 === 0;
      const k = cachedKernel(`adam:${vec ? 4 : 1}`, () => adamWgsl(vec));
      const n = vec ? p.size / 4 : p.size;
      dispatch1d(k, [p.buffer, g.buffer, st.m.buffer, st.v.buffer, scalars], n, pack(n, f(b1), f(b2), f(this.eps), j));
    }
  }

  /** Release every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** The state of a parameter (undefined before its first step); for checkpoints. */
  stateOf(p: Tensor): AdamParamState | undefined {
    return this.state.get(p);
  }

  /** Restore a parameter's state (copies m and v; e.g. from a checkpoint). */
  setState(p: Tensor, step: number, m: Float32Array, v: Float32Array): void {
    this.state.get(p)?.m.dispose();
    this.state.get(p)?.v.dispose();
    this.state.set(p, {
      step,
      m: Tensor.from(m, p.shape, { persistent: true }),
      v: Tensor.from(v, p.shape, { persistent: true }),
    });
  }

  /** Forget all state (as after re-creating the optimiser). */
  reset(): void {
    for (const s of this.state.values()) {
      s.m.dispose();
      s.v.dispose();
    }
    this.state.clear();
  }

  dispose(): void {
    this.reset();
    if (this.scalars) gpu().pool.release(this.scalars);
    this.scalars = null;
  }
}

/** Float64 reference of one Adam step on plain arrays (returns the new p, m, v). */
export function adamStepRef(
  p: Float64Array,
  g: ArrayLike<number>,
  m: Float64Array,
  v: Float64Array,
  step: number,
  lr: number,
  b1 = 0.9,
  b2 = 0.999,
  eps = 1e-8,
): void {
  const bc1 = 1 - b1 ** step;
  const bc2 = 1 - b2 ** step;
  for (let i = 0; i < p.length; i++) {
    m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
    v[i] = b2 * v[i]! + (1 - b2) * g[i]! * g[i]!;
    p[i] = p[i]! - (lr / bc1) * (m[i]! / (Math.sqrt(v[i]!) / Math.sqrt(bc2) + eps));
  }
}
