/**
 * The end-of-run check: every client's text equals the server's. Each client asks the server for
 * the hash at its version (`file:verify`); the run has converged when, for every file, all clients
 * stand at the server's head with a matching hash, hold the same text, and nothing is pending.
 */
import { pool } from './api';
import type { BenchDoc } from './bench-doc';

/** What the check found. */
export interface ConvergenceResult {
  readonly converged: boolean;
  readonly files: number;
  readonly clients: number;
  /** Seconds from the end of typing until all were in step (or the timeout). */
  readonly settleSeconds: number;
  /** Why not, when it did not converge (the first few problems). */
  readonly problems: string[];
}

/**
 * Waits (up to `timeoutMs`) until every doc is synchronised at the server's head, then compares.
 * A hash mismatch is never forgiven: `verify` repairs it with a resync, so a later round would
 * match, but the run diverged and is reported as not converged.
 */
export async function checkConvergence(docs: readonly BenchDoc[], timeoutMs = 60_000): Promise<ConvergenceResult> {
  const started = performance.now();
  const deadline = started + timeoutMs;
  const mismatched: string[] = [];
  let problems: string[] = [];
  for (;;) {
    problems = await probe(docs, mismatched);
    if (problems.length === 0 || performance.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  problems = [...mismatched, ...problems];
  const files = new Set(docs.map((d) => d.fileId)).size;
  return {
    converged: problems.length === 0,
    files,
    clients: docs.length,
    settleSeconds: Math.round((performance.now() - started) / 100) / 10,
    problems: problems.slice(0, 10),
  };
}

async function probe(docs: readonly BenchDoc[], mismatched: string[]): Promise<string[]> {
  const problems: string[] = [];
  // Cheap local checks first: a pending edit means we must wait anyway.
  for (const d of docs) {
    if (!d.synchronized) problems.push(`client of file ${d.fileId} still has edits pending (version ${d.state.version})`);
    else if (d.text !== d.expectedText()) problems.push(`client of file ${d.fileId}: document differs from its sync state`);
  }
  if (problems.length > 0) return problems;
  const verdicts = await pool(docs.length, 64, (i) => (docs[i] as BenchDoc).verify());
  const byFile = new Map<string, BenchDoc[]>();
  docs.forEach((d, i) => {
    const v = verdicts[i] as { head: number; match: boolean | null };
    if (v.match === false) mismatched.push(`client of file ${d.fileId} at version ${d.state.version}: hash differs from the server's (diverged)`);
    if (v.match !== true || v.head !== d.state.version) {
      problems.push(`client of file ${d.fileId} at version ${d.state.version}: server head ${v.head}, hash match ${String(v.match)}`);
    }
    const list = byFile.get(d.fileId) ?? [];
    list.push(d);
    byFile.set(d.fileId, list);
  });
  for (const [fileId, list] of byFile) {
    const first = list[0] as BenchDoc;
    if (list.some((d) => d.text !== first.text)) problems.push(`file ${fileId}: clients hold different texts`);
  }
  return problems;
}
