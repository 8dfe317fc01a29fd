/**
 * PostgreSQL's WAL activity over a window (`pg_stat_wal`, PostgreSQL 14+). Every acknowledged op
 * waits for a WAL flush, so the time PostgreSQL spent in those flushes is the disk's share of the
 * commit path. The view is cluster-wide (every database's WAL), and its times are zero unless
 * `track_wal_io_timing` is on (a superuser setting: `ALTER SYSTEM SET track_wal_io_timing = on;
 * SELECT pg_reload_conf();`); the report says which.
 */
import { Client } from 'pg';

/** One reading of pg_stat_wal. */
export interface WalCounters {
  readonly records: number;
  readonly bytes: number;
  readonly writes: number;
  readonly syncs: number;
  /** Milliseconds writing and syncing WAL (0 unless track_wal_io_timing is on). */
  readonly writeMs: number;
  readonly syncMs: number;
  readonly timed: boolean;
}

/** WAL over a window. */
export interface WalFigures {
  readonly syncs: number;
  readonly syncsPerSec: number;
  readonly bytesPerSec: number;
  /** Mean time per WAL sync (ms), or null when times are not tracked. */
  readonly syncMsMean: number | null;
  /** Seconds PostgreSQL spent syncing WAL during the window, or null when not tracked. */
  readonly syncSeconds: number | null;
  /** Whether track_wal_io_timing was on (without it there are counts but no times). */
  readonly timed: boolean;
  readonly scope: 'cluster';
}

/** Reads pg_stat_wal over the given connection; null when the view is missing (PostgreSQL < 14) or unreadable. */
export async function readWal(client: Client): Promise<WalCounters | null> {
  try {
    const r = await client.query(
      `SELECT wal_records, wal_bytes, wal_write, wal_sync, wal_write_time, wal_sync_time,
              current_setting('track_wal_io_timing') = 'on' AS timed
         FROM pg_stat_wal`,
    );
    const row = r.rows[0] as Record<string, unknown> | undefined;
    if (!row) return null;
    return {
      records: Number(row['wal_records']),
      bytes: Number(row['wal_bytes']),
      writes: Number(row['wal_write']),
      syncs: Number(row['wal_sync']),
      writeMs: Number(row['wal_write_time']),
      syncMs: Number(row['wal_sync_time']),
      timed: row['timed'] === true,
    };
  } catch {
    return null;
  }
}

/** The window's WAL figures from readings at both ends taken `seconds` apart. */
export function walDelta(from: WalCounters, to: WalCounters, seconds: number): WalFigures {
  const syncs = to.syncs - from.syncs;
  const timed = from.timed && to.timed;
  const syncMs = to.syncMs - from.syncMs;
  const s = Math.max(0.001, seconds);
  return {
    syncs,
    syncsPerSec: Math.round(syncs / s),
    bytesPerSec: Math.round((to.bytes - from.bytes) / s),
    syncMsMean: timed && syncs > 0 ? Math.round((syncMs / syncs) * 1000) / 1000 : null,
    syncSeconds: timed ? Math.round(syncMs / 10) / 100 : null,
    timed,
    scope: 'cluster',
  };
}
