// A real redis-server (Debian's) for the cluster tests: started on a free
// loopback port in a temporary directory, with nothing persisted
// (--save '' --appendonly no), stopped again at the end, restartable on the
// same port (the "Redis restarted mid-test" case), and reachable the way
// redis-cli reaches it: cli() runs redis-cli, publish() sends arbitrary bytes
// to a channel, monitor() records every command the server sees, and
// psubscribe() records every publication on a pattern as raw bytes.
//
// Every redis-server and redis-cli started here is also killed when the test
// process exits, whatever the outcome (a failed test never leaves one behind).
import { spawn, execFile } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createClient } from 'redis';

const REDIS_SERVER = process.env.SIO_REDIS_SERVER || 'redis-server';
const REDIS_CLI = process.env.SIO_REDIS_CLI || 'redis-cli';

// Children still running, killed synchronously on exit.
const live = new Set();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});
function track(child) {
  live.add(child);
  child.on('exit', () => live.delete(child));
  return child;
}

// A port nobody listens on right now (the kernel's choice for port 0).
export async function freePort() {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  srv.close();
  await once(srv, 'close');
  return port;
}

// Starts redis-server on `port` in `dir`; resolves once it accepts
// connections, rejects (after killing it) if it exits or is not ready in time.
async function spawnRedis(port, dir, timeoutMs) {
  const child = track(
    spawn(
      REDIS_SERVER,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
        '--dir', dir, '--daemonize', 'no', '--logfile', '', '--loglevel', 'notice'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    ),
  );
  let log = '';
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server on ${port} not ready within ${timeoutMs} ms:\n${log}`));
    }, timeoutMs);
    const onData = (d) => {
      log += d;
      if (log.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`redis-server on ${port} exited ${code ?? signal}:\n${log}`));
    });
  });
  return { child, exited, log: () => log };
}

// Starts a redis-server. Options: port (default: a free one; a few ports are
// tried if another process takes the chosen one first), timeoutMs.
export async function startRedis({ port, timeoutMs = 10000 } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sio-redis-'));
  let proc;
  for (let attempt = 0; ; attempt++) {
    const p = port ?? (await freePort());
    try {
      proc = await spawnRedis(p, dir, timeoutMs);
      port = p;
      break;
    } catch (e) {
      if (port !== undefined || attempt === 4) {
        fs.rmSync(dir, { recursive: true, force: true });
        throw e;
      }
    }
  }
  const clients = new Set(); // npm redis clients handed out, closed by stop()

  const redis = {
    port,
    host: '127.0.0.1',
    url: `redis://127.0.0.1:${port}`,
    dir,
    log: () => proc.log(),
    running: () => proc.child.exitCode === null && proc.child.signalCode === null,

    // Stops the server (SIGTERM, SIGKILL after timeoutMs); resolves with its exit status.
    async halt({ signal = 'SIGTERM', timeoutMs = 5000 } = {}) {
      if (redis.running()) proc.child.kill(signal);
      const timer = setTimeout(() => proc.child.kill('SIGKILL'), timeoutMs);
      const r = await proc.exited;
      clearTimeout(timer);
      return r;
    },

    // Starts it again on the same port (the data is gone: nothing is saved).
    async resume() {
      if (redis.running()) throw new Error('redis-server is still running');
      proc = await spawnRedis(port, dir, timeoutMs);
    },

    // Stops and starts it again, waiting downMs in between.
    async restart({ downMs = 0 } = {}) {
      await redis.halt();
      if (downMs) await new Promise((r) => setTimeout(r, downMs));
      await redis.resume();
    },

    // Stops everything: the clients handed out, the server, the directory.
    async stop() {
      await Promise.allSettled([...clients].map((c) => c.disconnect()));
      clients.clear();
      const r = await redis.halt();
      fs.rmSync(dir, { recursive: true, force: true });
      return r;
    },

    // Runs redis-cli with `args` against this server; resolves with its stdout.
    // `input` (string or Buffer) is written to its stdin: with '-x' first in
    // args, redis-cli takes stdin, bytes as they are, as the last argument.
    cli(args, { input, timeoutMs = 5000 } = {}) {
      return new Promise((resolve, reject) => {
        const child = track(
          execFile(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(port), ...args],
            { timeout: timeoutMs, encoding: 'buffer' }, (err, stdout, stderr) => {
              if (err) reject(new Error(`redis-cli ${args.join(' ')}: ${err.message} ${stderr}`));
              else resolve(stdout.toString());
            }),
        );
        child.stdin.on('error', () => {}); // redis-cli may exit before reading it: its status tells
        child.stdin.end(input ?? '');
      });
    },

    // PUBLISH of raw bytes (a Buffer or a string) with redis-cli; resolves
    // with the number of subscribers that received it.
    async publish(channel, payload) {
      const out = await redis.cli(['-x', 'PUBLISH', channel], { input: payload });
      return Number(out.trim());
    },

    // A connected npm `redis` client (closed by stop()). Give it an 'error'
    // listener of your own if it must outlive a restart quietly.
    async client(opts = {}) {
      const c = createClient({ url: redis.url, ...opts });
      c.on('error', () => {}); // reconnection is the client's business; tests check outcomes
      await c.connect();
      clients.add(c);
      return c;
    },

    // Number of plain subscribers of `channel` (PUBSUB NUMSUB, as the adapter counts servers).
    async numsub(channel) {
      const out = await redis.cli(['PUBSUB', 'NUMSUB', channel]);
      return Number(out.trim().split('\n')[1]);
    },

    // Number of pattern subscriptions of all clients (PUBSUB NUMPAT).
    async numpat() {
      return Number((await redis.cli(['PUBSUB', 'NUMPAT'])).trim());
    },

    // Records every command the server executes (redis-cli MONITOR): lines
    // holds them as redis-cli prints them; waitFor(re) resolves with the first
    // line matching re (bounded); stop() ends the recording.
    async monitor() {
      const child = track(spawn(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(port), 'MONITOR'],
        { stdio: ['ignore', 'pipe', 'pipe'] }));
      const lines = [];
      const waiters = [];
      let rest = '';
      child.stdout.on('data', (d) => {
        rest += d;
        const parts = rest.split('\n');
        rest = parts.pop();
        for (const line of parts) {
          lines.push(line);
          for (const w of [...waiters]) if (w.re.test(line)) w.done(line);
        }
      });
      await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('redis-cli MONITOR did not start')), 5000);
        child.stdout.once('data', () => { clearTimeout(timer); resolve(); });
      });
      return {
        lines,
        waitFor(re, timeoutMs = 5000) {
          const hit = lines.find((l) => re.test(l));
          if (hit) return Promise.resolve(hit);
          return new Promise((resolve, reject) => {
            const w = {
              re,
              done: (line) => { clearTimeout(timer); waiters.splice(waiters.indexOf(w), 1); resolve(line); },
            };
            const timer = setTimeout(() => {
              waiters.splice(waiters.indexOf(w), 1);
              reject(new Error(`MONITOR saw nothing matching ${re} within ${timeoutMs} ms`));
            }, timeoutMs);
            waiters.push(w);
          });
        },
        async stop() {
          child.kill('SIGTERM');
          if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
        },
      };
    },

    // Records every publication on channels matching `pattern` as
    // { channel, message: Buffer }, through a subscriber of its own.
    async psubscribe(pattern) {
      const c = await redis.client();
      const got = [];
      await c.pSubscribe(pattern, (message, channel) => got.push({ channel: channel.toString(), message }), true);
      return { got, stop: () => c.disconnect().catch(() => {}) };
    },
  };
  return redis;
}
