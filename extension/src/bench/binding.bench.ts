/**
 * Binding benchmark: what one editor change event costs the extension before anything is sent —
 * VS Code's `contentChanges` turned into one op over the editor's text and fed to the sync state
 * machine (`DocumentBinding.onEditorChange`) — for one caret and for 50 carets, on a 10 KB and a
 * 1 MB document. Multi-cursor typing arrives as one event with the changes bottom to top.
 *
 * Run with `npm run bench:binding` (after a build). Prints a table and one JSON line; each figure
 * is the median of several timed rounds (`BENCH_ROUNDS`, default 7).
 */
import { createSyncState } from '@collab/protocol';
import { DocumentBinding, type EditorChange } from '../binding/document-binding';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 7);
const EVENTS_PER_ROUND = 20;

/** A document of `lines` lines of 80 characters. */
function makeText(lines: number): string {
  return ('x'.repeat(79) + '\n').repeat(lines);
}

/** One keystroke at `carets` places spread over `lines` lines, bottom to top as VS Code lists them. */
function keystroke(lines: number, carets: number): EditorChange[] {
  const step = Math.floor(lines / carets);
  const changes: EditorChange[] = [];
  for (let k = carets - 1; k >= 0; k--) {
    const at = { line: k * step, character: 10 };
    changes.push({ range: { start: at, end: at }, text: 'a' });
  }
  return changes;
}

/** Median milliseconds per event over ROUNDS rounds of EVENTS_PER_ROUND events on a fresh binding. */
function measure(lines: number, carets: number): number {
  const text = makeText(lines);
  const perEvent: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const binding = new DocumentBinding(createSyncState('bench', 0, text), '\n');
    const events = Array.from({ length: EVENTS_PER_ROUND }, () => keystroke(lines, carets));
    const t0 = process.hrtime.bigint();
    for (const changes of events) binding.onEditorChange(changes);
    perEvent.push(Number(process.hrtime.bigint() - t0) / 1e6 / EVENTS_PER_ROUND);
  }
  perEvent.sort((a, b) => a - b);
  return perEvent[Math.floor(perEvent.length / 2)] as number;
}

const cases = [
  { name: '1 caret, 10 KB', lines: 125, carets: 1 },
  { name: '50 carets, 10 KB', lines: 125, carets: 50 },
  { name: '1 caret, 1 MB', lines: 12_500, carets: 1 },
  { name: '50 carets, 1 MB', lines: 12_500, carets: 50 },
];
const results: Record<string, number> = {};
console.log('| editor change event | ms per event |');
console.log('|---|---:|');
for (const c of cases) {
  const ms = measure(c.lines, c.carets);
  results[c.name] = Math.round(ms * 1000) / 1000;
  console.log(`| ${c.name} | ${ms.toFixed(3)} |`);
}
console.log(`BENCH_RESULT ${JSON.stringify({ benchmark: 'binding', rounds: ROUNDS, eventsPerRound: EVENTS_PER_ROUND, msPerEvent: results })}`);
