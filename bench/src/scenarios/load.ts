/**
 * The load the clients generate, wherever they live (main thread or a worker thread): typists at a
 * fixed rate, or hot-file writers keeping one op in flight each. Each client draws from
 * `new Rng(seed).fork(clientIndex)`, so a run types the same whatever thread a client is in.
 */
import type { BenchDoc } from '../bench-doc';
import { Rng } from '../rng';

/** What drives the clients, as plain data (it is sent to worker threads). */
export type LoadSpec =
  | { readonly kind: 'typing'; readonly rate: number; readonly seed: number; readonly cursors?: boolean }
  | { readonly kind: 'hot-file'; readonly docSize: number; readonly maxRatePerClient: number; readonly seed: number };

/** A running load. */
export interface Load {
  /** Stops generating (ops in flight still complete). */
  stop(): void;
  /** Typing ticks skipped because the bench fell behind. */
  missed(): number;
  /** Hot-file sends held back by the per-connection rate since the last `resetPaced`. */
  paced(): number;
  /** Restarts the paced count (at the start of the window). */
  resetPaced(): void;
}

/** Starts `spec` on `docs` (indexed by client index; holes are clients living elsewhere). */
export function startLoad(docs: readonly BenchDoc[], spec: LoadSpec): Load {
  return spec.kind === 'typing' ? startTyping(docs, spec.rate, new Rng(spec.seed), spec.cursors === true) : startHotFile(docs, spec.docSize, spec.maxRatePerClient, new Rng(spec.seed));
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/**
 * The typists: one timer chain per client at a fixed rate; a tick that comes too late is skipped and
 * counted. With `cursors`, each keystroke also sends the caret after it (`cursor:update`), as an
 * editor's selection change does.
 */
export function startTyping(docs: readonly BenchDoc[], rate: number, rng: Rng, cursors = false): Load {
  const interval = 1000 / rate;
  let stopped = false;
  let missed = 0;
  const timers: NodeJS.Timeout[] = [];
  docs.forEach((doc, i) => {
    const r = rng.fork(i);
    let next = performance.now() + r.next() * interval;
    const tick = (): void => {
      if (stopped) return;
      const at = r.int(doc.text.length + 1);
      doc.type(at, LETTERS[r.int(26)] as string);
      if (cursors) doc.sendCursor(at + 1);
      next += interval;
      const now = performance.now();
      if (now - next > interval) {
        // The bench fell behind by more than a tick: skip what cannot be typed on time.
        const behind = Math.floor((now - next) / interval);
        missed += behind;
        next += behind * interval;
      }
      timers[i] = setTimeout(tick, Math.max(0, next - now));
    };
    timers[i] = setTimeout(tick, Math.max(0, next - performance.now()));
  });
  return {
    stop() {
      stopped = true;
      for (const t of timers) if (t) clearTimeout(t);
    },
    missed: () => missed,
    paced: () => 0,
    resetPaced: () => undefined,
  };
}

/**
 * Hot-file writers: each types again as soon as its previous op is acknowledged, paced so as not to
 * exceed `maxRatePerClient`; an op inserts a letter, or deletes one once the document is past
 * `docSize` + 1,000, so the text stays small.
 */
export function startHotFile(docs: readonly BenchDoc[], docSize: number, maxRatePerClient: number, rng: Rng): Load {
  const minGap = 1000 / maxRatePerClient;
  let stopped = false;
  let paced = 0;
  docs.forEach((doc, i) => {
    const r = rng.fork(i);
    let lastSent = 0;
    const typeOne = (): void => {
      if (stopped) return;
      const wait = lastSent + minGap - performance.now();
      if (wait > 0) {
        paced++;
        setTimeout(typeOne, wait);
        return;
      }
      lastSent = performance.now();
      if (doc.text.length > docSize + 1000) doc.type(r.int(doc.text.length), '', 1);
      else doc.type(r.int(doc.text.length + 1), LETTERS[r.int(26)] as string);
    };
    doc.onAcked = typeOne;
    typeOne();
  });
  return {
    stop() {
      stopped = true;
    },
    missed: () => 0,
    paced: () => paced,
    resetPaced() {
      paced = 0;
    },
  };
}
