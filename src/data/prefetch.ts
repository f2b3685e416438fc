/**
 * A prefetching loader: a bounded queue of decoded items kept ahead of the consumer, so training never waits on
 * JPEG decoding (sharp decodes on libuv worker threads, off the main thread). Items come out in request order.
 */

export class Prefetcher<K, V> {
  private readonly queue: { key: K; value: Promise<V> }[] = [];
  private cursor = 0;

  /**
   * `keys` yields what to load next (e.g. a shuffled item sequence, possibly endless); `load` decodes one;
   * `depth` is the number of items decoded ahead.
   */
  constructor(
    private readonly keys: Iterator<K>,
    private readonly load: (key: K) => Promise<V>,
    readonly depth = 4,
  ) {
    this.fill();
  }

  private fill(): void {
    while (this.queue.length < this.depth) {
      const n = this.keys.next();
      if (n.done) return;
      const value = this.load(n.value);
      value.catch(() => undefined); // reported when consumed, never as an unhandled rejection
      this.queue.push({ key: n.value, value });
    }
  }

  /** The next item (waits only if it is not decoded yet), or undefined when the keys are exhausted. */
  async next(): Promise<{ key: K; value: V } | undefined> {
    const head = this.queue.shift();
    if (!head) return undefined;
    this.cursor++;
    try {
      return { key: head.key, value: await head.value };
    } finally {
      this.fill(); // at most `depth` loads in flight, counting the one being awaited
    }
  }

  /** Items handed out so far. */
  get consumed(): number {
    return this.cursor;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<{ key: K; value: V }> {
    for (;;) {
      const n = await this.next();
      if (!n) return;
      yield n;
    }
  }
}

/** An endless iterator over shuffled epochs of 0..n-1 (a seeded permutation per epoch). */
export function* shuffledEpochs(n: number, seed = 1): Generator<number> {
  let s = seed >>> 0 || 1;
  const rand = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
  const idx = Array.from({ length: n }, (_, i) => i);
  if (n === 0) return;
  for (;;) {
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [idx[i], idx[j]] = [idx[j]!, idx[i]!];
    }
    yield* idx;
  }
}
