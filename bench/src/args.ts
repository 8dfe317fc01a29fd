/** A small command-line parser: `command [--name value | --flag | --name=value]...`, repeatable names kept in order. */

/** Parsed arguments. */
export class Args {
  private readonly values = new Map<string, string[]>();
  private readonly used = new Set<string>();
  readonly positional: string[] = [];

  constructor(argv: readonly string[], flags: readonly string[] = []) {
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i] as string;
      if (!arg.startsWith('--')) {
        this.positional.push(arg);
        continue;
      }
      const eq = arg.indexOf('=');
      const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
      let value: string;
      if (eq > 0) value = arg.slice(eq + 1);
      else if (flags.includes(name)) value = 'true';
      else {
        const next = argv[i + 1];
        if (next === undefined || next.startsWith('--')) throw new Error(`--${name} needs a value`);
        value = next;
        i++;
      }
      const list = this.values.get(name) ?? [];
      list.push(value);
      this.values.set(name, list);
    }
  }

  /** Every value given for `name`. */
  all(name: string): string[] {
    this.used.add(name);
    return this.values.get(name) ?? [];
  }

  /** The last value of `name`, or `fallback`. */
  str(name: string, fallback: string): string {
    return this.all(name).at(-1) ?? fallback;
  }

  /** A number option (non-negative), or `fallback`. */
  num(name: string, fallback: number): number {
    const raw = this.all(name).at(-1);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got ${JSON.stringify(raw)}`);
    return n;
  }

  /** An optional number. */
  optNum(name: string): number | undefined {
    return this.all(name).length > 0 ? this.num(name, 0) : undefined;
  }

  /** A comma-separated list of numbers (`--clients 2,10,50`), or `fallback`. */
  nums(name: string, fallback: number[]): number[] {
    const raw = this.all(name).at(-1);
    if (raw === undefined) return fallback;
    return raw.split(',').map((x) => {
      const n = Number(x);
      if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name}: ${JSON.stringify(x)} is not a positive integer`);
      return n;
    });
  }

  /** True when the flag was given. */
  flag(name: string): boolean {
    return this.all(name).length > 0;
  }

  /** Options given but never read (typos). */
  unknown(): string[] {
    return [...this.values.keys()].filter((k) => !this.used.has(k));
  }
}
