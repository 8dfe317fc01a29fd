/**
 * Reads a spawned node's memory through its inspector (Chrome DevTools Protocol over WebSocket):
 * as found, then after forced full garbage collections. RSS alone says as much about when V8
 * last ran a major GC as about what the sockets hold (an idle Node.js process never collects on
 * its own), so the idle scenario reports both.
 */
import WebSocket from 'ws';

/** The parts of `process.memoryUsage()` a reading keeps, in bytes. */
export interface NodeMemory {
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
}

/** A node's memory before and after forced full GCs. */
export interface GcReading {
  readonly asFound: NodeMemory;
  readonly afterGc: NodeMemory;
}

/** How many full GCs to force: a second pass frees what the first one's finalizers released. */
const GC_PASSES = 2;

/** Connects to the inspector at `url`, reads memory, forces full GCs, reads again, disconnects. */
export async function readMemoryAroundGc(url: string, timeoutMs = 60_000): Promise<GcReading> {
  const session = await InspectorSession.open(url, timeoutMs);
  try {
    const asFound = await session.memory();
    for (let i = 0; i < GC_PASSES; i++) await session.call('HeapProfiler.collectGarbage');
    const afterGc = await session.memory();
    return { asFound, afterGc };
  } finally {
    session.close();
  }
}

interface Reply {
  readonly id?: number;
  readonly result?: unknown;
  readonly error?: { readonly message: string };
}

/** One DevTools Protocol connection: numbered calls, each answered by the reply with its id. */
class InspectorSession {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(
    private readonly ws: WebSocket,
    private readonly timeoutMs: number,
  ) {
    ws.on('message', (data: WebSocket.RawData) => {
      const reply = JSON.parse(data.toString()) as Reply;
      if (reply.id === undefined) return; // an event, not a reply
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if (reply.error) waiter.reject(new Error(`inspector: ${reply.error.message}`));
      else waiter.resolve(reply.result);
    });
    ws.on('close', () => {
      for (const w of this.pending.values()) w.reject(new Error('inspector: connection closed'));
      this.pending.clear();
    });
  }

  static open(url: string, timeoutMs: number): Promise<InspectorSession> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once('open', () => resolve(new InspectorSession(ws, timeoutMs)));
      ws.once('error', reject);
    });
  }

  call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`inspector: ${method} took over ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      const done = (fn: () => void): void => {
        clearTimeout(timer);
        fn();
      };
      this.pending.set(id, { resolve: (v) => done(() => resolve(v)), reject: (e) => done(() => reject(e)) });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  async memory(): Promise<NodeMemory> {
    const result = (await this.call('Runtime.evaluate', {
      expression: 'JSON.stringify(process.memoryUsage())',
      returnByValue: true,
    })) as { result?: { value?: unknown } };
    const value = result.result?.value;
    if (typeof value !== 'string') throw new Error('inspector: process.memoryUsage() gave no value');
    const m = JSON.parse(value) as NodeMemory;
    return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external };
  }

  close(): void {
    this.ws.close();
  }
}
