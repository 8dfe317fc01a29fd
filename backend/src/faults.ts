/**
 * Test-only fault injection for a server process, read from the environment. Nothing here is on
 * unless `COLLAB_FAULTS=1`: the fault tests and the topology script start real `node dist/main.js`
 * processes and need them to misbehave in controlled ways.
 *
 *   COLLAB_FAULTS=1                       enables the variables below (and a loud warning at start)
 *   COLLAB_FAULT_PUBLISH_DELAY_MS=N       delay every Redis publish of this node by 0..N ms
 *   COLLAB_FAULT_CRASH_AFTER_COMMITS=N    SIGKILL this process right after its N-th durable commit,
 *                                         before the ack and the broadcast ("commit then crash"); it
 *                                         first writes `COLLAB_FAULT crash-after-commit <op JSON>` to
 *                                         stderr, so the test knows which op was committed unseen
 */
import * as fs from 'node:fs';
import type { AppFaults } from './app';
import type { Env } from './config';

/** The faults `env` asks for, or undefined when fault injection is off. */
export function faultsFromEnv(env: Env, crash: (report: string) => void = crashNow): AppFaults | undefined {
  if (env['COLLAB_FAULTS'] !== '1') return undefined;
  const delay = whole(env['COLLAB_FAULT_PUBLISH_DELAY_MS']);
  const crashAfter = whole(env['COLLAB_FAULT_CRASH_AFTER_COMMITS']);
  let commits = 0;
  return {
    ...(delay !== undefined ? { publishDelayMs: delay } : {}),
    ...(crashAfter !== undefined
      ? {
          afterCommit: (op) => {
            // The op is durable in PostgreSQL; nobody has been told. SIGKILL: no cleanup runs.
            if (++commits < crashAfter) return;
            const { fileId, version, clientId, seq } = op;
            crash(`COLLAB_FAULT crash-after-commit ${JSON.stringify({ fileId, version, clientId, seq })}`);
          },
        }
      : {}),
  };
}

/** Reports synchronously on stderr (nothing is buffered), then SIGKILLs this process. */
function crashNow(report: string): void {
  fs.writeSync(2, `${report}\n`);
  process.kill(process.pid, 'SIGKILL');
}

function whole(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`expected a whole number, got ${JSON.stringify(value)}`);
  return n;
}
