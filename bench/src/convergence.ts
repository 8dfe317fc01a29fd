/**
 * The end-to-end check: every client's text equals the server's. Each client asks the server for
 * the hash at its version (`file:verify`); the run has converged when, for every file, all clients
 * stand at the server's head with a matching hash, hold the same text, and nothing is pending.
 *
 * Split in two so that clients in worker threads can be checked: `checkClients` runs where the
 * clients live and returns plain per-client reports; `judge` compares reports across all clients.
 */
import { createHash } from 'node:crypto';
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

/** One client's state at a probe (plain data: it crosses threads). */
export interface ClientCheck {
  readonly fileId: string;
  readonly version: number;
  /** Local edits not yet acknowledged. */
  readonly pending: boolean;
  /** The document differs from the text its sync state expects. */
  readonly stateDiffers: boolean;
  /** The server's answer to `file:verify` (absent when local checks failed somewhere in the batch). */
  readonly verdict?: { head: number; match: boolean | null };
  /** SHA-256 of the document text (hex). */
  readonly textHash: string;
}

/**
 * Waits (up to `timeoutMs`) until every doc is synchronised at the server's head, then compares.
 * A hash mismatch is never forgiven: `verify` repairs it with a resync, so a later round would
 * match, but the run diverged and is reported as not converged.
 */
export async function checkConvergence(docs: readonly BenchDoc[], timeoutMs = 60_000): Promise<ConvergenceResult> {
  return waitForConvergence(() => checkClients(docs), timeoutMs);
}

/** The polling loop of the check over any source of per-client reports (one thread or many). */
export async function waitForConvergence(probe: () => Promise<ClientCheck[]>, timeoutMs = 60_000): Promise<ConvergenceResult> {
  const started = performance.now();
  const deadline = started + timeoutMs;
  const mismatched: string[] = [];
  let problems: string[] = [];
  let checks: ClientCheck[] = [];
  for (;;) {
    checks = await probe();
    problems = judge(checks, mismatched);
    if (problems.length === 0 || performance.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  problems = [...mismatched, ...problems];
  const files = new Set(checks.map((c) => c.fileId)).size;
  return {
    converged: problems.length === 0,
    files,
    clients: checks.length,
    settleSeconds: Math.round((performance.now() - started) / 100) / 10,
    problems: problems.slice(0, 10),
  };
}

/** Checks each client where it lives: local state first, then `file:verify` when all are locally in step. */
export async function checkClients(docs: readonly BenchDoc[]): Promise<ClientCheck[]> {
  const list = docs.filter((d): d is BenchDoc => d !== undefined);
  const local = list.map((d) => ({ fileId: d.fileId, version: d.state.version, pending: !d.synchronized, stateDiffers: d.synchronized && d.text !== d.expectedText() }));
  // Cheap local checks first: a pending edit means we must wait anyway.
  if (local.some((c) => c.pending || c.stateDiffers)) return local.map((c, i) => ({ ...c, textHash: hashText((list[i] as BenchDoc).text) }));
  const verdicts = await pool(list.length, 64, (i) => (list[i] as BenchDoc).verify());
  return list.map((d, i) => ({ ...(local[i] as Omit<ClientCheck, 'textHash'>), verdict: verdicts[i] as { head: number; match: boolean | null }, textHash: hashText(d.text) }));
}

/** The problems of one probe across all clients; hash mismatches (divergence) are appended to `mismatched`. */
export function judge(checks: readonly ClientCheck[], mismatched: string[]): string[] {
  const problems: string[] = [];
  for (const c of checks) {
    if (c.pending) problems.push(`client of file ${c.fileId} still has edits pending (version ${c.version})`);
    else if (c.stateDiffers) problems.push(`client of file ${c.fileId}: document differs from its sync state`);
  }
  for (const c of checks) {
    if (c.verdict?.match === false) mismatched.push(`client of file ${c.fileId} at version ${c.version}: hash differs from the server's (diverged)`);
  }
  if (problems.length > 0) return problems;
  const byFile = new Map<string, ClientCheck[]>();
  for (const c of checks) {
    const v = c.verdict;
    if (!v || v.match !== true || v.head !== c.version) {
      problems.push(`client of file ${c.fileId} at version ${c.version}: server head ${v?.head ?? '?'}, hash match ${String(v?.match)}`);
    }
    const list = byFile.get(c.fileId) ?? [];
    list.push(c);
    byFile.set(c.fileId, list);
  }
  for (const [fileId, list] of byFile) {
    const first = list[0] as ClientCheck;
    if (list.some((c) => c.textHash !== first.textHash)) problems.push(`file ${fileId}: clients hold different texts`);
  }
  return problems;
}

/** The hash that stands for a document's text in cross-thread comparisons. */
export function hashText(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
