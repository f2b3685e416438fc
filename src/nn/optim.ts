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

/**
 * The update of one or two parameters per dispatch (`pair`): a dispatch costs a few µs of GPU time whatever its
 * size and a network has hundreds of small parameters (biases, style affines), so pairing them halves that cost.
 * Two parameters take all eight storage bindings WebGPU guarantees, hence the per-step scalars come as a uniform
 * array (`vec4`s: two parameters' [lr/(1−β1ᵗ), 1/√(1−β2ᵗ)] each). Thread i < n1 updates element i of the first
 * parameter, the others element i − n1 of the second: the same arithmetic per element as one dispatch each.
 */
function adamWgsl(vec: boolean, pair: boolean, slots: number): string {
  const tensor = (k: number, b: number) => `@group(0) @binding(${b}) var<storage, read_write> P${k}: array<T>;
@group(0) @binding(${b + 1}) var<storage, read> G${k}: array<T>;
@group(0) @binding(${b + 2}) var<storage, read_write> M${k}: array<T>;
@group(0) @binding(${b + 3}) var<storage, read_write> V${k}: array<T>;`;
  const update = (k: number, i: string, j: string) => `{
    let s = S[${j} / 2u];
    let odd = (${j} & 1u) == 1u;
    let stepSize = select(s.x, s.z, odd);
    let invBc2Sqrt = select(s.y, s.w, odd);
    let g = G${k}[${i}];
    let m = P.b1 * M${k}[${i}] + (1.0 - P.b1) * g;
    let v = P.b2 * V${k}[${i}] + (1.0 - P.b2) * g * g;
    M${k}[${i}] = m;
    V${k}[${i}] = v;
    P${k}[${i}] = P${k}[${i}] - stepSize * m / (sqrt(v) * invBc2Sqrt + T(P.eps));
  }`;
  return /* wgsl */ `alias T = ${vec ? 'vec4<f32>' : 'f32'};
${tensor(1, 0)}
${pair ? tensor(2, 4) : ''}
// per parameter j: [lr/(1−β1ᵗ), 1/√(1−β2ᵗ)] in S[j / 2] (.xy even j, .zw odd), written each step (perRun hook)
@group(0) @binding(${pair ? 8 : 4}) var<uniform> S: array<vec4<f32>, ${slots}>;
struct PP { n1: u32, n2: u32, b1: f32, b2: f32, eps: f32, j1: u32, j2: u32 }
@group(1) @binding(0) var<uniform> P: PP;
${main1d('P.n1 + P.n2')}
  if (i < P.n1) ${update(1, 'i', 'P.j1')}${pair ? ` else ${update(2, 'i - P.n1', 'P.j2')}` : ''}
}`;
}

/** Uniform arrays of a WGSL kernel are at most 64 KiB: 4,096 vec4s, two parameters each. */
const MAX_PARAMS = 8192;

export class Adam {
  readonly params: readonly Tensor[];
  lr: number;
  readonly betas: [number, number];
  readonly eps: number;
  private readonly state = new Map<Tensor, AdamParamState>();
  /** [lr/(1−β1ᵗ), 1/√(1−β2ᵗ)] per parameter (index in `params`), an f32 uniform buffer; made at the first step. */
  private scalars: GPUBuffer | null = null;

  constructor(params: Iterable<Tensor>, opts: AdamOptions = {}) {
    this.params = [...params];
    this.lr = opts.lr ?? 1e-3;
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    for (const p of this.params) {
      if (p.dtype !== 'f32') throw new Error(`Adam: parameter ${p} is not f32`);
    }
    if (this.params.length > MAX_PARAMS)
      throw new Error(`Adam: ${this.params.length} parameter tensors, at most ${MAX_PARAMS} (group them into fewer)`);
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
    const slots = Math.max(1, Math.ceil(this.params.length / 2));
    const scalars = (this.scalars ??= engine.once(() =>
      engine.device.createBuffer({
        size: 16 * slots,
        usage: 0x40 /* UNIFORM */ | 0x08 /* COPY_DST */,
        label: 'adam scalars',
      }),
    ));
    const values = new Float32Array(4 * slots);
    engine.perRun(() => {
      const rate = lr ?? this.lr;
      for (const [j, , , st] of stepped) {
        st.step++;
        values[2 * j] = rate / (1 - b1 ** st.step);
        values[2 * j + 1] = 1 / Math.sqrt(1 - b2 ** st.step);
      }
      engine.upload(scalars, values);
    });
    // pairs of parameters of the same vector width, in the order given
    for (const vec of [true, false]) {
      const group = stepped.filter(([, p]) => (p.size % 4 === 0) === vec);
      for (let a = 0; a < group.length; a += 2) {
        const [j1, p1, g1, s1] = group[a]!;
        const second = group[a + 1];
        const pair = second !== undefined;
        const k = cachedKernel(`adam:${vec ? 4 : 1}:${pair ? 2 : 1}:${slots}`, () => adamWgsl(vec, pair, slots));
        const n1 = vec ? p1.size / 4 : p1.size;
        const buffers = [p1.buffer, g1.buffer, s1.m.buffer, s1.v.buffer];
        let n2 = 0;
        let j2 = 0;
        if (second) {
          const [j, p2, g2, s2] = second;
          n2 = vec ? p2.size / 4 : p2.size;
          j2 = j;
          buffers.push(p2.buffer, g2.buffer, s2.m.buffer, s2.v.buffer);
        }
        buffers.push(scalars);
        dispatch1d(k, buffers, n1 + n2, pack(n1, n2, f(b1), f(b2), f(this.eps), j1, j2));
      }
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
    this.scalars?.destroy();
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
