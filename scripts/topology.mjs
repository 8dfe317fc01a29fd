#!/usr/bin/env node
// Starts the production topology on this machine, without Docker: N Collab nodes (node
// backend/dist/main.js, each on its own port) against one PostgreSQL and one Redis, and nginx in
// front of them (a private instance whose site configuration is rendered from
// deploy/nginx.conf.template, the file docker-compose.yml uses). Used by the fault tests
// (backend/src/ops/topology.ts is the same code as a library) and by the load tool.
//
//   npm run build && node scripts/topology.mjs [--nodes N] [--port P] [--no-nginx] [--log-level L]
//                                             [--database-url URL] [--redis-url URL] [--json]
//
//   --nodes N           server nodes (default 2)
//   --port P            nginx's port (default: a free one)
//   --no-nginx          no load balancer (the URL printed is node 0's)
//   --log-level L       the nodes' LOG_LEVEL (default warn)
//   --database-url URL  default $DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test
//   --redis-url URL     default $REDIS_URL, else redis://127.0.0.1:6379
//   --json              print only one JSON line (for tools), instead of the human summary
//   JWT_SECRET, REDIS_PREFIX from the environment are passed on (default: fresh random ones).
//
// Output: the public URL, each node's URL, pid and log file; with --json one line
//   {"url":"http://127.0.0.1:P","nodes":[{"index":0,"url":...,"pid":...,"log":...}],"nginxPid":...,"dir":...,
//    "jwtSecret":...,"redisPrefix":...}
// Stops everything (SIGTERM to the nodes, which finish in-flight commits; SIGQUIT to nginx) on
// SIGINT or SIGTERM, then exits 0. Exits 1 when something did not start (the reason on stderr).
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

function usage(message) {
  console.error(`topology: ${message}`);
  console.error('usage: node scripts/topology.mjs [--nodes N] [--port P] [--no-nginx] [--log-level L] [--database-url URL] [--redis-url URL] [--json]');
  process.exit(2);
}

function parseArgs(argv) {
  const args = {
    nodes: 2,
    port: undefined,
    nginx: true,
    logLevel: 'warn',
    databaseUrl: process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test',
    redisUrl: process.env.REDIS_URL || 'redis://127.0.0.1:6379',
    json: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${arg} needs a value`);
      return argv[++i];
    };
    const whole = (v, name, min, max) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) usage(`${name} must be an integer from ${min} to ${max}`);
      return n;
    };
    if (arg === '--nodes') args.nodes = whole(value(), '--nodes', 1, 64);
    else if (arg === '--port') args.port = whole(value(), '--port', 0, 65535);
    else if (arg === '--no-nginx') args.nginx = false;
    else if (arg === '--log-level') args.logLevel = value();
    else if (arg === '--database-url') args.databaseUrl = value();
    else if (arg === '--redis-url') args.redisUrl = value();
    else if (arg === '--json') args.json = true;
    else usage(`unknown argument ${arg}`);
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
let Topology;
try {
  ({ Topology } = require(path.join(root, 'backend', 'dist', 'ops', 'topology.js')));
} catch {
  console.error('topology: backend/dist/ops/topology.js not found; run `npm run build` first');
  process.exit(1);
}

let topology;
try {
  topology = await Topology.start({
    nodes: args.nodes,
    databaseUrl: args.databaseUrl,
    redisUrl: args.redisUrl,
    logLevel: args.logLevel,
    ...(args.port ? { port: args.port } : {}),
    ...(args.nginx ? {} : { nginx: false }),
    ...(process.env.JWT_SECRET ? { jwtSecret: process.env.JWT_SECRET } : {}),
    ...(process.env.REDIS_PREFIX ? { redisPrefix: process.env.REDIS_PREFIX } : {}),
  });
} catch (err) {
  console.error(`topology: failed to start: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
}

const summary = {
  url: topology.url,
  nodes: topology.nodes.map((n) => ({ index: n.index, url: n.url, pid: n.pid, log: path.join(topology.dir, `node${n.index}.log`) })),
  nginxPid: topology.nginxPid ?? null,
  dir: topology.dir,
  jwtSecret: topology.jwtSecret,
  redisPrefix: topology.redisPrefix,
};
if (args.json) {
  console.log(JSON.stringify(summary));
} else {
  console.log(`Collab topology: ${args.nodes} node(s)${args.nginx ? ' behind nginx' : ''}`);
  console.log(`  url:    ${summary.url}`);
  for (const n of summary.nodes) console.log(`  node ${n.index}: ${n.url} (pid ${n.pid}, log ${n.log})`);
  if (summary.nginxPid) console.log(`  nginx:  pid ${summary.nginxPid}, config and logs in ${path.join(summary.dir, 'nginx')}`);
  console.log('  Ctrl+C stops everything');
}

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  topology
    .stop()
    .then(() => process.exit(0))
    .catch((err) => {
      console.error(`topology: stop failed: ${err instanceof Error ? err.message : err}`);
      process.exit(1);
    });
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
