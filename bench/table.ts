/** Bench rows, printed as a Markdown table and saved as JSON. */
export interface BenchRow {
  bench: string;
  case: string;
  ms: number;
  /** Throughput in the unit named by `unit` (TFLOP/s, GB/s, …). */
  rate?: number;
  unit?: string;
  note?: string;
}

export function formatTable(rows: readonly BenchRow[]): string {
  const head = '| bench | case | ms | rate | note |\n| --- | --- | ---: | ---: | --- |';
  const body = rows.map(
    (r) =>
      `| ${r.bench} | ${r.case} | ${r.ms.toFixed(3)} | ${r.rate !== undefined ? `${r.rate.toFixed(2)} ${r.unit ?? ''}` : ''} | ${r.note ?? ''} |`,
  );
  return [head, ...body].join('\n');
}

/** Median of a list of times (robust to a slow first run or a hiccup). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
