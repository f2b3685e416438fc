/**
 * A strict reader for YAML config sections: every key read is checked for its type, every key not read is an
 * error, and all problems are collected (not thrown one by one) so a user fixes a config in one pass. Messages
 * name the file and the key's path: "avatar.yaml: train.loss_weight.l1: expected a number, got 'abc'".
 */

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

/** Where problems and one-time notes are collected while a config is read. */
export class ConfigReport {
  readonly errors: string[] = [];
  readonly notes: string[] = [];
  constructor(readonly file: string) {}

  error(path: string, what: string): void {
    this.errors.push(`${this.file}: ${path}: ${what}`);
  }

  note(path: string, what: string): void {
    this.notes.push(`${this.file}: ${path}: ${what}`);
  }

  /** Throws every collected error at once. */
  throwIfAny(): void {
    if (this.errors.length) throw new ConfigError(this.errors);
  }
}

/** How a value looks in a message: strings quoted, the rest as YAML-ish JSON. */
export function show(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface NumberRule {
  int?: boolean;
  /** Inclusive lower bound. */
  min?: number;
  /** Exclusive lower bound. */
  above?: number;
}

/**
 * One mapping of the config. Readers return the default (or, for a required key, a placeholder after recording the
 * error) so reading always continues; `done()` reports the keys nobody asked for.
 */
export class Section {
  private readonly seen = new Set<string>();
  private readonly data: Record<string, unknown>;

  constructor(
    value: unknown,
    readonly path: string,
    private readonly report: ConfigReport,
  ) {
    if (value === undefined || value === null) this.data = {};
    else if (isObject(value)) this.data = value;
    else {
      report.error(path || '(top level)', `expected a mapping of keys, got ${show(value)}`);
      this.data = {};
    }
  }

  private key(k: string): string {
    return this.path ? `${this.path}.${k}` : k;
  }

  has(k: string): boolean {
    return this.data[k] !== undefined && this.data[k] !== null;
  }

  /** The raw value (marks the key as known). */
  raw(k: string): unknown {
    this.seen.add(k);
    return this.data[k];
  }

  private missing(k: string, def: unknown): boolean {
    const v = this.raw(k);
    if (v !== undefined && v !== null) return false;
    if (def === undefined) this.report.error(this.key(k), 'missing (required)');
    return true;
  }

  number(k: string, def?: number, rule: NumberRule = {}): number {
    if (this.missing(k, def)) return def ?? 0;
    const v = this.data[k];
    const what = rule.int ? 'an integer' : 'a number';
    if (typeof v !== 'number' || !Number.isFinite(v) || (rule.int && !Number.isInteger(v))) {
      this.report.error(this.key(k), `expected ${what}, got ${show(v)}`);
      return def ?? 0;
    }
    if (rule.min !== undefined && v < rule.min) this.report.error(this.key(k), `must be ≥ ${rule.min}, got ${v}`);
    if (rule.above !== undefined && v <= rule.above)
      this.report.error(this.key(k), `must be > ${rule.above}, got ${v}`);
    return v;
  }

  bool(k: string, def?: boolean): boolean {
    if (this.missing(k, def)) return def ?? false;
    const v = this.data[k];
    if (typeof v !== 'boolean') {
      this.report.error(this.key(k), `expected true or false, got ${show(v)}`);
      return def ?? false;
    }
    return v;
  }

  string(k: string, def?: string): string {
    if (this.missing(k, def)) return def ?? '';
    const v = this.data[k];
    if (typeof v !== 'string') {
      this.report.error(this.key(k), `expected a string, got ${show(v)}`);
      return def ?? '';
    }
    return v;
  }

  /** A string or null (absent = null). */
  nullableString(k: string): string | null {
    const v = this.raw(k);
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string') {
      this.report.error(this.key(k), `expected a path or null, got ${show(v)}`);
      return null;
    }
    return v;
  }

  /** One of the given words. */
  oneOf<T extends string>(k: string, options: readonly T[], def?: T): T {
    const v = this.string(k, def);
    if (!options.includes(v as T)) {
      if (typeof this.data[k] === 'string') {
        this.report.error(this.key(k), `expected one of ${options.join(', ')}, got ${show(v)}`);
      }
      return def ?? options[0]!;
    }
    return v as T;
  }

  /** A list of integers (optionally of a fixed length). */
  intList(k: string, def?: number[], length?: number): number[] {
    if (this.missing(k, def)) return def ?? [];
    const v = this.data[k];
    const bad = !Array.isArray(v) || v.some((x) => typeof x !== 'number' || !Number.isInteger(x));
    if (bad || (length !== undefined && v.length !== length)) {
      const want = length === 2 ? 'a pair [frame, cam] of integers' : `a list of ${length ?? ''} integers`;
      this.report.error(this.key(k), `expected ${want.replace('  ', ' ')}, got ${show(v)}`);
      return def ?? [];
    }
    return v as number[];
  }

  /** frame_range: [a, b] or [a, b, step] (end exclusive) or a file of frame ids (one per line). */
  frameRange(k: string, def?: number[] | string): number[] | string {
    if (this.missing(k, def)) return def ?? [];
    const v = this.data[k];
    if (typeof v === 'string') return v;
    if (
      Array.isArray(v) &&
      (v.length === 2 || v.length === 3) &&
      v.every((x) => typeof x === 'number' && Number.isInteger(x))
    ) {
      const [a, b, step = 1] = v as number[];
      if (step! <= 0) this.report.error(this.key(k), `the step must be positive, got ${step}`);
      else if (b! <= a!) this.report.error(this.key(k), `[start, end) holds no frame: ${show(v)}`);
      return v as number[];
    }
    this.report.error(this.key(k), `expected [start, end], [start, end, step] or a file name, got ${show(v)}`);
    return def ?? [];
  }

  /** A nested mapping. */
  section(k: string): Section {
    return new Section(this.raw(k), this.key(k), this.report);
  }

  /** A key the reference reads but does not use: accepted with a note. */
  ignored(k: string, why: string): void {
    if (this.raw(k) !== undefined) this.report.note(this.key(k), why);
  }

  /** Keys present in the file that no reader asked for are errors. */
  done(): void {
    for (const k of Object.keys(this.data)) {
      if (!this.seen.has(k)) this.report.error(this.key(k), 'unknown key (check its spelling and indentation)');
    }
  }
}
