/**
 * A trailing throttle by key: the first call for a key starts a timer; calls before it fires only
 * replace the action; when it fires the latest action runs. So at most one action per key per
 * interval, and the last state always goes out (within `intervalMs`).
 */
import type { Disposable } from './emitter';

/** Runs the latest action per key at most once per interval. */
export class TrailingThrottle implements Disposable {
  private readonly pending = new Map<string, { action: () => void; timer: ReturnType<typeof setTimeout> }>();

  constructor(private readonly intervalMs: number) {}

  /** Schedules `action` for `key`, replacing one not yet run. */
  schedule(key: string, action: () => void): void {
    const entry = this.pending.get(key);
    if (entry) {
      entry.action = action;
      return;
    }
    const timer = setTimeout(() => {
      const current = this.pending.get(key);
      this.pending.delete(key);
      current?.action();
    }, this.intervalMs);
    this.pending.set(key, { action, timer });
  }

  /** Drops the pending action of `key`. */
  cancel(key: string): void {
    const entry = this.pending.get(key);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.pending.delete(key);
  }

  /** Drops every pending action. */
  dispose(): void {
    for (const entry of this.pending.values()) clearTimeout(entry.timer);
    this.pending.clear();
  }
}
