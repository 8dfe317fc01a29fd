/**
 * A TCP proxy a test owns, in front of a real server (PostgreSQL): `outage(ms)` drops every
 * connection through it and refuses new ones for `ms`, then accepts again on the same port. This
 * is how the tests "restart PostgreSQL" without touching the shared server that other tests use:
 * to the nodes it looks the same as a restart (connections reset, then refused, then back), but
 * the server keeps its state, so it is not a test of PostgreSQL's own crash recovery.
 */
import * as net from 'node:net';

/** A running proxy. */
export class TcpProxy {
  private server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
    server: net.Server,
  ) {
    this.server = server;
  }

  /** Listens on a free port of 127.0.0.1 and forwards to `target`. */
  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const proxy = new TcpProxy(0, target, net.createServer());
    const port = await proxy.listen(0);
    return Object.assign(proxy, { port }) as TcpProxy;
  }

  /** Drops every connection, refuses new ones for `ms`, then listens again on the same port. */
  async outage(ms: number): Promise<void> {
    // close() waits for open connections, so they are destroyed before it is awaited.
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await closed;
    await new Promise((r) => setTimeout(r, ms));
    await this.listen(this.port);
  }

  /** Stops for good. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  private listen(port: number): Promise<number> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
    });
  }
}
