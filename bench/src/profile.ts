/**
 * Summarises a V8 CPU profile (`node --cpu-prof` writes `*.cpuprofile`): self and inclusive time by
 * function, and self time by where the code lives (a package in node_modules, our packages, Node's
 * internals, GC), so a report can say where a server spends its CPU.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** One line of the summary. */
export interface ProfileEntry {
  readonly name: string;
  readonly selfMs: number;
  readonly selfPct: number;
  readonly totalMs: number;
  readonly totalPct: number;
}

/** The summary of a profile. */
export interface ProfileSummary {
  readonly wallMs: number;
  /** Sampled time outside `(idle)`. */
  readonly busyMs: number;
  readonly functions: ProfileEntry[];
  /** By inclusive time: the call paths that matter. */
  readonly inclusive: ProfileEntry[];
  readonly places: ProfileEntry[];
}

/** Where a frame's code lives: `node_modules/<package>`, one of our packages, Node, or a V8 pseudo-frame. */
export function placeOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1] as string;
  const ours = /\/(protocol|client|backend|bench|extension)\/dist\//.exec(url);
  if (ours) return `@collab/${ours[1] as string}`;
  if (url.startsWith('node:')) return 'node:internal';
  return url.replace(/^file:\/\//, '');
}

/** Summarises the profile at `file`. */
export function summariseProfile(file: string, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const key = (n: ProfileNode): string => {
    const f = n.callFrame;
    const file = f.url.replace(/^.*\/(node_modules\/)/, '$1').replace(/^.*\/(protocol|client|backend|bench)\/dist\//, '$1/');
    return `${f.functionName || '(anonymous)'} ${file ? `${file}:${f.lineNumber + 1}` : ''}`.trim();
  };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const places = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    const node = byId.get(id);
    if (!node) return;
    const k = key(node);
    self.set(k, (self.get(k) ?? 0) + dt);
    const place = placeOf(node.callFrame.url, node.callFrame.functionName);
    places.set(place, (places.get(place) ?? 0) + dt);
    if (node.callFrame.functionName !== '(idle)') busy += dt;
    // Inclusive time: each function once per sample, however deep the recursion.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur);
      if (!n) break;
      const kk = key(n);
      if (seen.has(kk)) continue;
      seen.add(kk);
      total.set(kk, (total.get(kk) ?? 0) + dt);
    }
  });
  const pct = (ms: number): number => Math.round((ms / Math.max(busy, 0.001)) * 1000) / 10;
  const entries = (m: Map<string, number>, withTotal: boolean): ProfileEntry[] =>
    [...m]
      .filter(([name]) => !name.startsWith('(idle)'))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => {
        const t = withTotal ? (total.get(name) ?? ms) : ms;
        return { name, selfMs: Math.round(ms), selfPct: pct(ms), totalMs: Math.round(t), totalPct: pct(t) };
      });
  const inclusive = [...total]
    .filter(([name]) => !name.startsWith('(idle)') && !name.startsWith('(root)'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, ms]) => ({ name, selfMs: Math.round(self.get(name) ?? 0), selfPct: pct(self.get(name) ?? 0), totalMs: Math.round(ms), totalPct: pct(ms) }));
  return { wallMs: Math.round((profile.endTime - profile.startTime) / 1000), busyMs: Math.round(busy), functions: entries(self, true), inclusive, places: entries(places, false) };
}

/** Prints a summary as two tables. */
export function printProfile(s: ProfileSummary, out: (line: string) => void = console.log): void {
  out(`profile: ${s.wallMs} ms wall, ${s.busyMs} ms busy (not idle)`);
  out('self time by place:');
  for (const e of s.places) out(`  ${e.selfPct.toFixed(1).padStart(5)}%  ${String(e.selfMs).padStart(7)} ms  ${e.name}`);
  out('self time by function (with inclusive time):');
  for (const e of s.functions) out(`  ${e.selfPct.toFixed(1).padStart(5)}%  ${String(e.selfMs).padStart(7)} ms  (incl ${e.totalPct.toFixed(1)}%)  ${e.name}`);
  out('inclusive time by function:');
  for (const e of s.inclusive) out(`  ${e.totalPct.toFixed(1).padStart(5)}%  ${String(e.totalMs).padStart(7)} ms  (self ${e.selfPct.toFixed(1)}%)  ${e.name}`);
}
