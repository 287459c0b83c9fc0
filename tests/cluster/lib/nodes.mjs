// The nodes of a test cluster, of either kind, started the same way:
//   'node'  tests/cluster/node-server.mjs (socket.io 4.8 + @socket.io/redis-adapter 8)
//   'c'     build/.../bin/sio-test-server --redis URL (our server)
// Both print "listening on PORT" once they serve and hold their Redis
// subscriptions, "redis <pub|sub> <state>" on each change of a Redis
// connection's state (error, reconnecting, ready, end), and implement the
// same /chat contract (see node-server.mjs).
//
// Which kind plays which node is chosen on the command line, so one test file
// covers every mix: SIO_CLUSTER_KINDS=c,node,node in the environment, or
// `node tests/cluster/<file>.test.mjs --kinds=c,node,node`; nodeKinds(defaults)
// reads it.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN_DIR } from '../../interop/lib/server.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const NODE_SERVER = path.join(HERE, '..', 'node-server.mjs');

// Every node still running is killed when the test process exits.
const live = new Set();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

// The kinds of the cluster's nodes: --kinds=a,b,c, else SIO_CLUSTER_KINDS,
// else `defaults`; missing positions take the default's.
export function nodeKinds(defaults) {
  const arg = process.argv.find((a) => a.startsWith('--kinds='));
  const given = (arg ? arg.slice('--kinds='.length) : process.env.SIO_CLUSTER_KINDS || '')
    .split(',').map((k) => k.trim()).filter(Boolean);
  const kinds = defaults.map((d, i) => given[i] || d);
  for (const k of kinds) if (k !== 'node' && k !== 'c') throw new Error(`unknown node kind "${k}"`);
  return kinds;
}

// The command line of a node of `kind`.
function command(kind, { redisUrl, key, id, args = [] }) {
  if (kind === 'node') {
    const a = [NODE_SERVER, '--port', '0', '--redis', redisUrl, '--server-id', id];
    if (key) a.push('--redis-key', key);
    return [process.execPath, [...a, ...args]];
  }
  const a = ['--port', '0', '--redis', redisUrl, '--server-id', id,
    '--ping-interval', '2000', '--ping-timeout', '3000'];
  if (key) a.push('--redis-key', key);
  return [path.join(BIN_DIR, 'sio-test-server'), [...a, ...args]];
}

// Starts a node of `kind` ('node' or 'c') on Redis `redisUrl`:
// options key (the adapter's channel prefix), id (its server id, what it
// answers to "hello"), args (more flags), timeoutMs. Resolves with
// { kind, id, port, url, child, stdout(), stderr(), stop(), kill(), exited }.
export async function startNode(kind, { redisUrl, key, id, args = [], timeoutMs = 15000 }) {
  const [file, argv] = command(kind, { redisUrl, key, id, args });
  const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let out = '';
  let err = '';
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => {
    live.delete(child);
    resolve({ code, signal });
  }));
  child.stderr.on('data', (d) => { err += d; });
  child.stdout.on('data', (d) => { out += d; });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${kind} node ${id} did not start: ${err}`));
    }, timeoutMs);
    const onData = () => {
      const m = /listening on (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        resolve(Number(m[1]));
      }
    };
    child.stdout.on('data', onData);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${kind} node ${id} exited ${code ?? signal}: ${err}`));
    });
  });
  let killed = false; // by kill(): its end needs no report
  const node = {
    kind,
    id,
    port,
    url: `http://127.0.0.1:${port}`,
    child,
    exited,
    stdout: () => out,
    stderr: () => err,
    running: () => child.exitCode === null && child.signalCode === null,
    // SIGTERM (SIGKILL after timeoutMs); resolves with { code, signal }. A
    // non-zero end prints the node's stderr (an ASan report, a Node stack).
    async stop({ signal = 'SIGTERM', timeoutMs = 10000 } = {}) {
      if (node.running()) {
        killed ||= signal === 'SIGKILL';
        child.kill(signal);
      }
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const r = await exited;
      clearTimeout(timer);
      if (r.code !== 0 && !killed) {
        process.stderr.write(`--- ${kind} node ${id} (${r.code ?? r.signal}) stderr ---\n${err}\n`);
      }
      return r;
    },
    // Dies at once, its connections dropped by the kernel (a crashed node).
    kill: () => node.stop({ signal: 'SIGKILL' }),
  };
  return node;
}
