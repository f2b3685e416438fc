/**
 * Define-by-run autograd. An op that runs with grad enabled on an input that requires grad records a node
 * {inputs, output, saved, backward}. `backward(loss)` walks the nodes in reverse, sums gradients of tensors used
 * more than once, accumulates leaves' `.grad`, and frees each output gradient and saved activation as soon as its
 * node has run. Backward closures run with grad disabled and must read activations only through `saved`
 * (refcounted aliases that outlive the scopes of the forward pass), never by capturing the forward tensors.
 */
import { alias, beginScope, sameShape, Tensor, untracked } from './tensor.js';
import { addInto, fill, mapInto } from './kernels/elementwise-core.js';

/**
 * `into(i)`, when it returns a tensor, is the gradient already summed for input i (exclusive, same shape): a
 * backward may add its gradient for i into it in place and return null for i, which saves the separate sum (the
 * style vector feeds ~36 modulations, whose gradients would otherwise each be one more dispatch).
 */
export type GradFn = (
  gy: Tensor,
  saved: readonly Tensor[],
  needs: readonly boolean[],
  into: (i: number) => Tensor | null,
) => readonly (Tensor | null)[];

interface Node {
  name: string;
  inputs: readonly (Tensor | null)[];
  output: Tensor;
  saved: Tensor[];
  needs: boolean[];
  backward: GradFn;
}

let tape: Node[] = [];
let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Run `fn` without recording (inference, parameter updates). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Whether an op on these inputs will be recorded. */
export function needsGrad(inputs: readonly (Tensor | null | undefined)[]): boolean {
  return gradEnabled && inputs.some((t) => t?.requiresGrad === true);
}

export interface RecordSpec {
  name: string;
  /** Tensor inputs, in the order `backward` returns their gradients (null for a non-tensor slot). */
  inputs: readonly (Tensor | null | undefined)[];
  output: Tensor;
  /** Tensors backward needs (inputs or the output); handed to backward as `saved`, in this order. */
  save?: readonly Tensor[];
  /** Returns one gradient per input (null where not needed, or where `needs[i]` is false). */
  backward: GradFn;
}

/**
 * Attach a backward to an op's output. Does nothing (and saves nothing) when grad is disabled or no input
 * requires grad. Returns the output.
 */
export function record(spec: RecordSpec): Tensor {
  const inputs = spec.inputs.map((t) => t ?? null);
  if (!needsGrad(inputs)) return spec.output;
  const out = spec.output;
  out.requiresGrad = true;
  out.hasGradFn = true;
  tape.push({
    name: spec.name,
    inputs,
    output: out,
    saved: (spec.save ?? []).map(alias),
    needs: inputs.map((t) => t?.requiresGrad === true),
    backward: spec.backward,
  });
  return out;
}

/** Number of recorded nodes (tests, leak hunting). */
export function tapeLength(): number {
  return tape.length;
}

/** Bytes the tape's saved activations hold, grouped by op name and dtype (see tapeSavedBytes). */
export interface TapeSavedBytes {
  name: string;
  dtype: string;
  /**
   * 'activation': made by the step (what saving costs); 'persistent': a parameter or constant input the node saved
   * (held anyway, whatever the tape does).
   */
  kind: 'activation' | 'persistent';
  /** Distinct buffers first saved by ops of this name (a buffer saved by several nodes counts once, at the first). */
  buffers: number;
  /** Their pooled sizes (what the pool holds for them). */
  bytes: number;
}

/**
 * What the recorded nodes keep alive, for memory accounting (bench/train-memory.ts): every distinct buffer among
 * the nodes' saved tensors, attributed to the first node in recording order that saved it, summed by (op, dtype,
 * kind).
 * A buffer counts as persistent when a node saved a persistent leaf input, or when it is in `heldAnyway` (e.g. the
 * parameters' buffers, which a node may save through a reshape view). Sorted by bytes, largest first. Runs no GPU work.
 */
export function tapeSavedBytes(heldAnyway: ReadonlySet<GPUBuffer> = new Set()): TapeSavedBytes[] {
  const seen = new Set<GPUBuffer>();
  const rows = new Map<string, TapeSavedBytes>();
  for (const n of tape)
    for (const s of n.saved) {
      const b = s.buffer;
      if (seen.has(b)) continue;
      seen.add(b);
      const kind =
        heldAnyway.has(b) || n.inputs.some((x) => x && x.persistent && !x.hasGradFn && !x.isDisposed && x.buffer === b)
          ? 'persistent'
          : 'activation';
      const key = `${n.name}|${s.dtype}|${kind}`;
      let r = rows.get(key);
      if (!r) rows.set(key, (r = { name: n.name, dtype: s.dtype, kind, buffers: 0, bytes: 0 }));
      r.buffers++;
      r.bytes += b.size;
    }
  return [...rows.values()].sort((a, b) => b.bytes - a.bytes);
}

/** Drop every recorded node and release the activations they saved (e.g. after a forward without backward). */
export function clearTape(): void {
  for (const n of tape) releaseNode(n);
  tape = [];
}

function releaseNode(n: Node): void {
  for (const s of n.saved) s.dispose();
  n.saved = [];
}

/**
 * acc + g; disposes g. A first gradient is kept as it is, even when its storage is shared (an add's backward hands
 * the same gradient to both inputs): copying it to make it exclusive cost a dispatch per such input (24 in a
 * full-size training step), and most are never added to. A later one is added in place when acc is exclusive, else into a new
 * tensor (one dispatch either way).
 */
function accumulate(acc: Tensor | undefined | null, g: Tensor): Tensor {
  if (!acc) return g;
  if (acc.storageRefs === 1) {
    addInto(acc, g);
    g.dispose();
    return acc;
  }
  const sum = Tensor.empty(acc.shape, { persistent: true });
  mapInto('add', ['a', 'b'], 'a + b', [acc, g], sum);
  acc.dispose();
  g.dispose();
  return sum;
}

/**
 * Backpropagate from `loss` (seeded with ones, or `grad`), accumulating into the `.grad` of every leaf that
 * requires grad. Consumes the whole tape (nodes not on the path are dropped too).
 */
export function backward(loss: Tensor, grad?: Tensor): void {
  if (grad && !sameShape(grad.shape, loss.shape)) {
    throw new Error(`backward: gradient [${grad.shape}] does not match loss [${loss.shape}]`);
  }
  const nodes = tape;
  tape = [];
  untracked(() => {
    const prev = gradEnabled;
    gradEnabled = false;
    const grads = new Map<Tensor, Tensor>();
    try {
      const seed = grad ? alias(grad) : fill(loss.shape, 1, true);
      if (!loss.requiresGrad) {
        seed.dispose();
        throw new Error('backward: the loss does not require grad (no recorded op leads to it)');
      }
      if (!loss.hasGradFn) {
        loss.grad = accumulate(loss.grad, seed);
        return;
      }
      grads.set(loss, seed);
      // One closure for the whole pass (a backward hot path): the sum collected so far for input i of `current`.
      let current: Node | null = null;
      const into = (i: number): Tensor | null => {
        const x = current?.inputs[i];
        if (!x || !current!.needs[i]) return null;
        const acc = x.hasGradFn ? grads.get(x) : x.grad;
        // only an exclusive sum may be added into in place (a shared one is another tensor's gradient too)
        return acc && acc.storageRefs === 1 && sameShape(acc.shape, x.shape) ? acc : null;
      };
      for (let k = nodes.length - 1; k >= 0; k--) {
        const node = nodes[k]!;
        const g = grads.get(node.output);
        if (!g) {
          releaseNode(node);
          continue;
        }
        grads.delete(node.output);
        const inner = beginScope();
        let gis: readonly (Tensor | null)[];
        let owned: (Tensor | null)[];
        try {
          current = node;
          gis = node.backward(g, node.saved, node.needs, into);
          if (gis.length !== node.inputs.length) {
            throw new Error(
              `backward of '${node.name}' returned ${gis.length} gradients for ${node.inputs.length} inputs`,
            );
          }
          owned = gis.map((gi, i) => (gi && node.needs[i] ? alias(gi) : null));
        } finally {
          inner.end();
        }
        g.dispose();
        releaseNode(node);
        for (let i = 0; i < node.inputs.length; i++) {
          const x = node.inputs[i];
          const gi = owned[i];
          if (!gi || !x) continue;
          if (!sameShape(gi.shape, x.shape)) {
            throw new Error(`backward of '${node.name}': gradient [${gi.shape}] for input [${x.shape}]`);
          }
          if (x.hasGradFn) grads.set(x, accumulate(grads.get(x), gi));
          else x.grad = accumulate(x.grad, gi);
        }
      }
    } finally {
      for (const g of grads.values()) g.dispose();
      for (const n of nodes) releaseNode(n);
      gradEnabled = prev;
    }
  });
}

/** Set `.grad` to null (releasing it) on each tensor. */
export function zeroGrad(params: Iterable<Tensor>): void {
  for (const p of params) {
    p.grad?.dispose();
    p.grad = null;
  }
}
