/** Float64 references of concat/slice and gather/scatter-add along an axis ([outer, axis, inner] views). */
export function view3(shape: readonly number[], axis: number): [number, number, number] {
  return [
    shape.slice(0, axis).reduce((a, b) => a * b, 1),
    shape[axis]!,
    shape.slice(axis + 1).reduce((a, b) => a * b, 1),
  ];
}

export function concatRef(xs: { data: Float64Array; shape: readonly number[] }[], axis: number): Float64Array {
  const [outer, , inner] = view3(xs[0]!.shape, axis);
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const x of xs) {
      const A = x.shape[axis]!;
      for (let j = 0; j < A * inner; j++) out.push(x.data[o * A * inner + j]!);
    }
  }
  return Float64Array.from(out);
}

export function sliceRef(
  x: Float64Array,
  shape: readonly number[],
  axis: number,
  start: number,
  end: number,
): Float64Array {
  const [outer, A, inner] = view3(shape, axis);
  const out: number[] = [];
  for (let o = 0; o < outer; o++)
    for (let a = start; a < end; a++) for (let e = 0; e < inner; e++) out.push(x[(o * A + a) * inner + e]!);
  return Float64Array.from(out);
}

export function gatherRef(
  x: Float64Array,
  shape: readonly number[],
  axis: number,
  idx: ArrayLike<number>,
): Float64Array {
  const [outer, A, inner] = view3(shape, axis);
  const M = idx.length;
  const y = new Float64Array(outer * M * inner);
  for (let o = 0; o < outer; o++)
    for (let k = 0; k < M; k++)
      for (let e = 0; e < inner; e++) {
        const j = idx[k]!;
        y[(o * M + k) * inner + e] = j >= 0 && j < A ? x[(o * A + j) * inner + e]! : 0;
      }
  return y;
}

export function scatterAddRef(
  v: Float64Array,
  shape: readonly number[],
  axis: number,
  idx: ArrayLike<number>,
): Float64Array {
  const [outer, A, inner] = view3(shape, axis);
  const M = idx.length;
  const y = new Float64Array(outer * A * inner);
  for (let o = 0; o < outer; o++)
    for (let k = 0; k < M; k++)
      for (let e = 0; e < inner; e++) {
        const j = idx[k]!;
        if (j >= 0 && j < A) y[(o * A + j) * inner + e] += v[(o * M + k) * inner + e]!;
      }
  return y;
}
