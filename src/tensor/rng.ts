/**
 * The project's seeded random numbers, one module for every layer (synthetic captures, training's sampler, tests,
 * benches):
 * - `seededRandom(seed)`: a closure of uniforms in [0, 1) (mulberry32, one 32-bit word of state), for data that only
 *   has to be reproducible from its seed;
 * - `SampleRng`: whose whole state is four 32-bit words (xoshiro128**), so a checkpoint can store it and a resumed run
 *   draws exactly the numbers the uninterrupted run would have drawn.
 */

/** Uniforms in [0, 1) from a seed (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type RngState = [number, number, number, number];

export class SampleRng {
  private s = new Uint32Array(4);

  constructor(seed = 1) {
    // splitmix32 spreads the seed over the four words (an all-zero state would be stuck at zero)
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if (!this.s.some((v) => v !== 0)) this.s[0] = 1;
  }

  /** The next 32 random bits. */
  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new Error(`SampleRng.int: n must be a positive integer, got ${n}`);
    return Math.floor(this.next() * n);
  }

  getState(): RngState {
    return [this.s[0]!, this.s[1]!, this.s[2]!, this.s[3]!];
  }

  setState(state: readonly number[]): void {
    if (state.length !== 4 || state.some((v) => !Number.isInteger(v) || v < 0 || v > 0xffffffff)) {
      throw new Error(`SampleRng.setState: expected four 32-bit unsigned integers, got [${state.join(', ')}]`);
    }
    if (state.every((v) => v === 0)) throw new Error('SampleRng.setState: the all-zero state is not valid');
    this.s.set(state);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
