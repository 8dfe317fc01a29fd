/**
 * Experiment (`--sync-acks`): emulates proposed fix 3 of docs/benchmarks.md without changing
 * `@collab/client`. `FileSync` feeds an `op:submit` reply from `request(...).then(...)`; with
 * `emitWithAck` that continuation runs in a microtask, after broadcasts that arrived in the same
 * socket read were already fed, so the client sees a gap where its own op is and fetches it. Here
 * `request` for `op:submit` returns a thenable whose callbacks run synchronously inside Socket.IO's
 * ack callback, i.e. before the next packet is handled — what a callback-based `FileSync` would do.
 */
import type { AnyReply, CollabConnection } from '@collab/client';

/** A minimal thenable resolved synchronously by `settle`. */
class SyncThenable<T> implements PromiseLike<T> {
  private value: { v: T } | undefined;
  private readonly callbacks: ((v: T) => void)[] = [];

  /** Resolves now, running every registered callback synchronously. */
  settle(v: T): void {
    if (this.value) return;
    this.value = { v };
    for (const cb of this.callbacks.splice(0)) cb(v);
  }

  /** Registers callbacks; they run synchronously at `settle` (or at once if settled). */
  then<R1 = T, R2 = never>(onFulfilled?: ((v: T) => R1 | PromiseLike<R1>) | null, _onRejected?: ((e: unknown) => R2 | PromiseLike<R2>) | null): PromiseLike<R1 | R2> {
    const next = new SyncThenable<R1 | R2>();
    const run = (v: T): void => {
      const r = onFulfilled ? onFulfilled(v) : (v as unknown as R1);
      if (r && typeof (r as PromiseLike<R1>).then === 'function') void (r as PromiseLike<R1>).then((x) => next.settle(x));
      else next.settle(r as R1);
    };
    if (this.value) run(this.value.v);
    else this.callbacks.push(run);
    return next;
  }
}

/** Makes `connection.request('op:submit', …)` deliver its reply synchronously in the ack callback. */
export function useSynchronousAcks(connection: CollabConnection, timeoutMs: number): void {
  const original = connection.request.bind(connection);
  const socket = connection.socket as unknown as {
    timeout(ms: number): { emit(ev: string, payload: unknown, ack: (err: unknown, reply: AnyReply) => void): void };
  };
  (connection as unknown as { request: typeof connection.request }).request = ((event, payload) => {
    if (event !== 'op:submit') return original(event, payload);
    const result = new SyncThenable<AnyReply>();
    socket.timeout(timeoutMs).emit(event, payload, (err, reply) => {
      result.settle(err ? { ok: false, error: { code: 'UNAVAILABLE', message: `no reply to ${event}` } } : reply);
    });
    return result as unknown as Promise<AnyReply>;
  }) as typeof connection.request;
}
