/**
 * Adam exactly as torch.optim.Adam (defaults β = (0.9, 0.999), eps 1e-8, no weight decay, no amsgrad): per parameter
 * m ← β1·m + (1−β1)·g, v ← β2·v + (1−β2)·g², p ← p − (lr/(1−β1ᵗ)) · m / (√v/√(1−β2ᵗ) + eps), with t counted per
 * parameter (a parameter whose grad is null is skipped and its t does not advance). One fused kernel per parameter;
 * state stays on the GPU.
 */
import { cachedKernel, dispatch1d, f, main1d, params as pack } from '../tensor/kernels/util.js';
import { Tensor } from '../tensor/index.js';

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
struct PP { n: u32, b1: f32, b2: f32, stepSize: f32, invBc2Sqrt: f32, eps: f32 }
@group(1) @binding(0) var<uniform> P: PP;
${main1d('P.n')}
  let g = G[i];
  let m = P.b1 * M[i] + (1.0 - P.b1) * g;
  let v = P.b2 * V[i] + (1.0 - P.b2) * g * g;
  M[i] = m;
  V[i] = v;
  Pm[i] = Pm[i] - P.stepSize * m / (sqrt(v) * P.invBc2Sqrt + T(P.eps));
}`;
}

export class Adam {
  readonly params: readonly Tensor[];
  lr: number;
  readonly betas: [number, number];
  readonly eps: number;
  private readonly state = new Map<Tensor, AdamParamState>();

  constructor(params: Iterable<Tensor>, opts: AdamOptions = {}) {
    this.params = [...params];
    this.lr = opts.lr ?? 1e-3;
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    for (const p of this.params) {
      if (p.dtype !== 'f32') throw new Error(`Adam: parameter ${p} is not f32`);
    }
  }

  /** One update of every parameter that has a gradient, with learning rate `lr` (default: this.lr). */
  step(lr = this.lr): void {
    const [b1, b2] = this.betas;
    for (const p of this.params) {
      const g = p.grad;
      if (!g) continue;
      if (g.size !== p.size) throw new Error(`Adam: grad of ${g.size} elements for parameter ${p}`);
      let st = this.state.get(p);
      if (!st) {
        st = {
          step: 0,
          m: Tensor.zeros(p.shape, { persistent: true, label: 'adam.m' }),
          v: Tensor.zeros(p.shape, { persistent: true, label: 'adam.v' }),
        };
        this.state.set(p, st);
      }
      st.step++;
      const bc1 = 1 - b1 ** st.step;
      const bc2 = 1 - b2 ** st.step;
      const vec = p.size % 4 === 0;
      const k = cachedKernel(`adam:${vec ? 4 : 1}`, () => adamWgsl(vec));
      const n = vec ? p.size / 4 : p.size;
      dispatch1d(
        k,
        [p.buffer, g.buffer, st.m.buffer, st.v.buffer],
        n,
        pack(n, f(b1), f(b2), f(lr / bc1), f(1 / Math.sqrt(bc2)), f(this.eps)),
      );
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
