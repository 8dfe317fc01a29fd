/**
 * The servers' own account of a window: their latency histograms (`/metrics`, Prometheus text),
 * read at both ends of the window and subtracted. End-to-end latency includes the sockets, the
 * clients' event loops and the server's; `collab_op_latency_seconds` is the server's share
 * (receipt of a submission → ack and broadcast sent) and `collab_commit_seconds` the database's
 * part of it. Where a tail lives is where its latencies fall past a threshold.
 */

/** The histograms read (the backend's names). */
export const SERVER_HISTOGRAMS = ['collab_op_latency_seconds', 'collab_commit_seconds'] as const;

/**
 * The counters read: group transactions by round trips (1 on predicted reads, 2 read under the
 * locks), wrong predictions, and commits that lost a race to another node.
 */
export const SERVER_COUNTERS = ['collab_commit_groups_total', 'collab_commit_mispredictions_total', 'collab_commit_conflicts_total', 'collab_commits_forwarded_total'] as const;

/** Counter values summed over every node, keyed by the sample's name with its labels (`name{a="b"}`). */
export type CounterSnapshot = Map<string, number>;

/** What one scrape of every node read. */
export interface ServerScrape {
  readonly histograms: HistogramSnapshot;
  readonly counters: CounterSnapshot;
}

/** Parses the samples of the named counters from a Prometheus text exposition, one entry per label set. */
export function parseCounters(text: string, names: readonly string[]): CounterSnapshot {
  const out: CounterSnapshot = new Map();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || !names.includes(m[1] as string)) continue;
    const key = `${m[1]}${m[2] ?? ''}`;
    out.set(key, (out.get(key) ?? 0) + Number(m[3]));
  }
  return out;
}

/** Each counter's increase between two scrapes (a sample first seen in `to` counts from 0). */
export function counterDeltas(from: CounterSnapshot, to: CounterSnapshot): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of [...to].sort(([a], [b]) => a.localeCompare(b))) out[key] = value - (from.get(key) ?? 0);
  return out;
}

/** One histogram's cumulative bucket counts by upper bound in seconds (`+Inf` as Infinity). */
export type Buckets = Map<number, number>;

/** Histograms by name, summed over every node. */
export type HistogramSnapshot = Map<string, Buckets>;

/** Thresholds (ms) the report gives the share of samples above. */
export const SHARE_THRESHOLDS_MS = [5, 10, 20, 50] as const;

/** One histogram over the window: samples, and the percentage above each threshold. */
export interface TailShare {
  readonly n: number;
  /** Percent of the window's samples above each threshold, keyed by the threshold in ms. */
  readonly overMs: Record<string, number>;
}

/**
 * Parses the bucket lines of the named histograms from a Prometheus text exposition (label sets
 * other than `le` are summed). Lines of other metrics are ignored.
 */
export function parseHistograms(text: string, names: readonly string[]): HistogramSnapshot {
  const out: HistogramSnapshot = new Map();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)_bucket\{([^}]*)\}\s+(\S+)/.exec(line);
    if (!m || !names.includes(m[1] as string)) continue;
    const le = /(?:^|,)le="([^"]+)"/.exec(m[2] as string)?.[1];
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    let buckets = out.get(m[1] as string);
    if (!buckets) out.set(m[1] as string, (buckets = new Map()));
    buckets.set(bound, (buckets.get(bound) ?? 0) + Number(m[3]));
  }
  return out;
}

/** Adds `b` into `a` (summing nodes). */
function addInto(a: HistogramSnapshot, b: HistogramSnapshot): void {
  for (const [name, buckets] of b) {
    let into = a.get(name);
    if (!into) a.set(name, (into = new Map()));
    for (const [bound, n] of buckets) into.set(bound, (into.get(bound) ?? 0) + n);
  }
}

/**
 * The share of the window's samples above each threshold, from cumulative buckets at both ends.
 * A threshold must be a bucket bound (the histograms' bounds include 5, 10, 20 and 50 ms);
 * otherwise its share is not reported.
 */
export function tailShare(from: Buckets | undefined, to: Buckets | undefined, thresholdsMs: readonly number[] = SHARE_THRESHOLDS_MS): TailShare | null {
  if (!to) return null;
  const delta = (bound: number): number => (to.get(bound) ?? 0) - (from?.get(bound) ?? 0);
  const n = delta(Infinity);
  const overMs: Record<string, number> = {};
  for (const ms of thresholdsMs) {
    const bound = [...to.keys()].find((b) => Math.abs(b * 1000 - ms) < 1e-9);
    if (bound === undefined) continue;
    overMs[String(ms)] = n > 0 ? Math.round(((n - delta(bound)) / n) * 10000) / 100 : 0;
  }
  return { n, overMs };
}

/**
 * Reads the histograms and counters of every node and sums them; null when a node does not answer
 * (an external server without `/metrics`, say): a partial sum would misattribute.
 */
export async function scrapeServers(
  urls: readonly string[],
  names: readonly string[] = SERVER_HISTOGRAMS,
  counterNames: readonly string[] = SERVER_COUNTERS,
): Promise<ServerScrape | null> {
  const sum: HistogramSnapshot = new Map();
  const counters: CounterSnapshot = new Map();
  try {
    const texts = await Promise.all(
      urls.map(async (url) => {
        const res = await fetch(new URL('/metrics', url), { signal: AbortSignal.timeout(5000) });
        if (!res.ok) throw new Error(`${url}/metrics answered ${res.status}`);
        return res.text();
      }),
    );
    for (const text of texts) {
      addInto(sum, parseHistograms(text, names));
      for (const [key, value] of parseCounters(text, counterNames)) counters.set(key, (counters.get(key) ?? 0) + value);
    }
    return { histograms: sum, counters };
  } catch {
    return null;
  }
}
