/**
 * The production topology on one machine, without Docker: N Collab server processes
 * (`node backend/dist/main.js`, each on its own port) sharing one PostgreSQL and one Redis, and
 * nginx in front of them (a child process with a private prefix and a configuration rendered
 * from `deploy/nginx.conf.template`, the same template docker-compose.yml uses). The fault tests,
 * `scripts/topology.mjs` and the load tool (bench/) start it through this module.
 *
 * Every process is a child of the caller; `stop()` ends them (SIGTERM, then SIGKILL after 5 s),
 * and `kill(i)` / `restart(i)` let fault tests crash and revive one node on the same port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/** How to start a topology. */
export interface TopologyOptions {
  /** Number of server nodes. @default 2 */
  readonly nodes?: number;
  /** PostgreSQL every node uses (`DATABASE_URL`). */
  readonly databaseUrl: string;
  /** Redis every node uses (`REDIS_URL`). */
  readonly redisUrl: string;
  /** Redis channel prefix (`REDIS_PREFIX`). @default a fresh random one, so runs never mix */
  readonly redisPrefix?: string;
  /** Token key shared by the nodes (`JWT_SECRET`). @default a fresh random one */
  readonly jwtSecret?: string;
  /** Path of the nginx binary, or false for no load balancer. @default found on PATH or /usr/sbin */
  readonly nginx?: string | false;
  /** Port nginx listens on. @default a free port */
  readonly port?: number;
  /**
   * How nginx spreads connections: `room` keeps the clients of a room on one node (they connect with
   * `?room=`, see deploy/nginx.conf.template), `round-robin` spreads them one by one, so the
   * participants of a room are split over the nodes (what the cross-node tests need). @default 'room'
   */
  readonly balance?: TopologyBalance;
  /** Extra environment of node `i` (fault injection: `COLLAB_FAULTS=1`, ...). */
  readonly nodeEnv?: (index: number) => Readonly<Record<string, string>>;
  /** Node.js flags for every node, before the script (`--cpu-prof` is refused in NODE_OPTIONS). */
  readonly nodeArgs?: readonly string[];
  /** The nodes' `LOG_LEVEL`. @default 'warn' */
  readonly logLevel?: string;
  /** Where configuration, logs and data go. @default a new directory under the OS temp dir */
  readonly dir?: string;
}

/** nginx's balancing method in a topology. */
export type TopologyBalance = 'room' | 'round-robin';

/** The `COLLAB_BALANCE` directive of each balancing method (deploy/nginx.conf.template). */
export const BALANCE_DIRECTIVE: Readonly<Record<TopologyBalance, string>> = {
  room: 'hash $collab_affinity consistent;',
  'round-robin': '',
};

/** One server process of a topology. */
export interface TopologyNode {
  readonly index: number;
  readonly port: number;
  /** `http://127.0.0.1:<port>`, the node itself (bypassing nginx). */
  readonly url: string;
  /** The current process id (changes on restart); undefined while stopped. */
  readonly pid: number | undefined;
  /** Everything the process wrote to stdout and stderr so far (all its lives). */
  output(): string;
}

const here = __dirname; // backend/dist/ops
const MAIN = path.resolve(here, '..', 'main.js');
/** The nginx template shipped in the repository (deploy/), shared with docker-compose.yml. */
export const NGINX_TEMPLATE = path.resolve(here, '..', '..', '..', 'deploy', 'nginx.conf.template');

/** The nginx binary on this machine, or undefined. */
export function findNginx(): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/local/nginx/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = path.join(dir, 'nginx');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Fills in `${COLLAB_*}` placeholders of the template (and nothing else: nginx's `$vars` stay). */
export function renderNginxTemplate(template: string, vars: Readonly<Record<string, string>>): string {
  return template.replace(/\$\{(COLLAB_[A-Z_]+)\}/g, (whole, name: string) => {
    const value = vars[name];
    if (value === undefined) throw new Error(`nginx template: no value for ${whole}`);
    return value;
  });
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `url` until it answers 200 (or `timeoutMs` passes, or `alive()` turns false). */
async function waitHttp(url: string, timeoutMs: number, alive: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) return;
    } catch {
      // not yet
    }
    if (!alive()) throw new Error(`${what} exited before it was ready`);
    if (Date.now() > deadline) throw new Error(`${what} not ready at ${url} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

class NodeProcess implements TopologyNode {
  child: ChildProcess | undefined;
  private log = '';

  constructor(
    readonly index: number,
    readonly port: number,
    private readonly env: NodeJS.ProcessEnv,
    private readonly logFile: string,
    private readonly nodeArgs: readonly string[] = [],
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child && this.child.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  output(): string {
    return this.log;
  }

  async start(): Promise<void> {
    const child = spawn(process.execPath, [...this.nodeArgs, MAIN], { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const record = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      this.log += text;
      fs.appendFileSync(this.logFile, text);
    };
    child.stdout?.on('data', record);
    child.stderr?.on('data', record);
    await waitHttp(`${this.url}/readyz`, 30_000, () => this.pid !== undefined, `node ${this.index}`);
  }

  /** Sends `signal` and resolves once the process has exited. */
  async stop(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/** A running topology. */
export class Topology {
  private nginxProcess: ChildProcess | undefined;

  private constructor(
    readonly dir: string,
    private readonly processes: NodeProcess[],
    /** The public URL: nginx's, or node 0's when there is no load balancer. */
    readonly url: string,
    /** The Redis channel prefix and token key every node shares. */
    readonly redisPrefix: string,
    readonly jwtSecret: string,
  ) {}

  /** Starts the nodes one after the other (the first runs the migrations), then nginx. */
  static async start(options: TopologyOptions): Promise<Topology> {
    const count = options.nodes ?? 2;
    if (!(count >= 1 && count <= 64)) throw new Error('nodes must be 1..64');
    const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'collab-topology-'));
    fs.mkdirSync(dir, { recursive: true });
    const redisPrefix = options.redisPrefix ?? `collab-${randomBytes(4).toString('hex')}`;
    const jwtSecret = options.jwtSecret ?? randomBytes(32).toString('base64url');
    const processes: NodeProcess[] = [];
    const nginxBinary = options.nginx === false ? undefined : (options.nginx ?? findNginx());
    if (options.nginx !== false && !nginxBinary) throw new Error('nginx not found (install it: apt-get install -y nginx), or pass nginx: false');
    const topology = new Topology(dir, processes, '', redisPrefix, jwtSecret);
    try {
      for (let i = 0; i < count; i++) {
        const port = await freePort();
        const env: NodeJS.ProcessEnv = {
          PATH: process.env['PATH'],
          HOME: process.env['HOME'],
          HOST: '127.0.0.1',
          PORT: String(port),
          DATABASE_URL: options.databaseUrl,
          REDIS_URL: options.redisUrl,
          REDIS_PREFIX: redisPrefix,
          JWT_SECRET: jwtSecret,
          DATA_DIR: path.join(dir, `node${i}`),
          LOG_LEVEL: options.logLevel ?? 'warn',
          // nginx runs on this machine and sets X-Forwarded-For: the limits key on the real client.
          TRUST_PROXY: 'loopback',
          ...options.nodeEnv?.(i),
        };
        const node = new NodeProcess(i, port, env, path.join(dir, `node${i}.log`), options.nodeArgs);
        processes.push(node);
        await node.start();
      }
      let url = processes[0]!.url;
      if (nginxBinary) url = await topology.startNginx(nginxBinary, options.port ?? (await freePort()), options.balance ?? 'room');
      return Object.assign(topology, { url }) as Topology;
    } catch (err) {
      await topology.stop();
      throw err;
    }
  }

  /** The nodes (index order). */
  get nodes(): readonly TopologyNode[] {
    return this.processes;
  }

  /** nginx's process id, when it runs. */
  get nginxPid(): number | undefined {
    return this.nginxProcess?.pid;
  }

  /** Sends `signal` to node `i` (SIGKILL by default: a crash) and waits for it to exit. */
  kill(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    return this.process(i).stop(signal);
  }

  /** Starts node `i` again, on the same port with the same environment; resolves when ready. */
  async restart(i: number): Promise<void> {
    const node = this.process(i);
    await node.stop('SIGTERM');
    await node.start();
  }

  /** Stops nginx and every node (SIGTERM, SIGKILL after 5 s). */
  async stop(): Promise<void> {
    const nginx = this.nginxProcess;
    if (nginx && nginx.exitCode === null && nginx.signalCode === null) {
      const exited = new Promise<void>((resolve) => nginx.once('exit', () => resolve()));
      nginx.kill('SIGQUIT');
      const timer = setTimeout(() => nginx.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    await Promise.all(this.processes.map((p) => p.stop('SIGTERM')));
  }

  private process(i: number): NodeProcess {
    const node = this.processes[i];
    if (!node) throw new Error(`no node ${i}`);
    return node;
  }

  /** Writes the private nginx configuration and starts nginx in the foreground on `port`. */
  private async startNginx(binary: string, port: number, balance: TopologyBalance): Promise<string> {
    const prefix = path.join(this.dir, 'nginx');
    for (const sub of ['', 'logs', 'tmp']) fs.mkdirSync(path.join(prefix, sub), { recursive: true });
    const site = renderNginxTemplate(fs.readFileSync(NGINX_TEMPLATE, 'utf8'), {
      COLLAB_LISTEN: `127.0.0.1:${port}`,
      COLLAB_UPSTREAM_SERVERS: this.processes.map((p) => `server 127.0.0.1:${p.port} max_fails=1 fail_timeout=2s;`).join('\n    '),
      COLLAB_BALANCE: BALANCE_DIRECTIVE[balance],
    });
    fs.writeFileSync(path.join(prefix, 'collab.conf'), site);
    // The main file holds only what a private, unprivileged instance needs; the site is the template.
    const main = [
      'worker_processes 1;',
      `pid ${path.join(prefix, 'nginx.pid')};`,
      `error_log ${path.join(prefix, 'logs', 'error.log')} warn;`,
      'events { worker_connections 4096; }',
      'http {',
      '  access_log off;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${path.join(prefix, 'tmp', t)};`),
      `  include ${path.join(prefix, 'collab.conf')};`,
      '}',
      '',
    ].join('\n');
    const conf = path.join(prefix, 'nginx.conf');
    fs.writeFileSync(conf, main);
    const child = spawn(binary, ['-p', prefix, '-c', conf, '-e', path.join(prefix, 'logs', 'error.log'), '-g', 'daemon off;'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    this.nginxProcess = child;
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitHttp(`${url}/healthz`, 10_000, () => child.exitCode === null && child.signalCode === null, 'nginx');
    } catch (err) {
      throw new Error(`${(err as Error).message}: ${stderr.trim()}`);
    }
    return url;
  }
}
