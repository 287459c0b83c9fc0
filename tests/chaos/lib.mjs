// The chaos test's plumbing: a seeded random generator, a server process
// whose stderr is scanned for sanitizer reports as it comes, a bounded action
// log, the server's RSS, and small socket helpers (FIN, RST, bounded waits).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const BIN_DIR = process.env.SIO_BIN_DIR || path.resolve('build/asan/bin');
export const SOURCE_DIR = process.env.SIO_SOURCE_DIR || path.resolve('.');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// mulberry32: small, fast, and the same sequence for the same seed everywhere.
export class Rng {
  constructor(seed) {
    this.s = seed >>> 0;
  }
  next() {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n) { return Math.floor(this.next() * n); }
  range(lo, hi) { return lo + this.int(hi - lo + 1); }
  chance(p) { return this.next() < p; }
  pick(a) { return a[this.int(a.length)]; }
  // An entry of {name: weight}, chosen by weight.
  weighted(table) {
    const entries = Object.entries(table).filter(([, w]) => w > 0);
    let x = this.next() * entries.reduce((s, [, w]) => s + w, 0);
    for (const [k, w] of entries) if ((x -= w) < 0) return k;
    return entries[entries.length - 1][0];
  }
  fork() { return new Rng(this.int(0x100000000)); }
}

// The last `size` things the actors did, printed when a run fails.
export class ActionLog {
  constructor(size = 400) {
    this.size = size;
    this.items = [];
    this.t0 = Date.now();
  }
  add(line) {
    this.items.push(`${String(Date.now() - this.t0).padStart(6)} ms  ${line}`);
    if (this.items.length > this.size) this.items.splice(0, this.items.length - this.size);
  }
  tail(n) { return this.items.slice(-n).join('\n'); }
}

const REPORT = /ERROR: AddressSanitizer|runtime error:|LeakSanitizer|Assertion .* failed|AddressSanitizer:DEADLYSIGNAL/;

// Starts a server program on port 0 and keeps watching it: its stderr is
// scanned for sanitizer reports as it arrives (only a tail and the report
// are kept, so a long run does not hold the whole log), stdout is read and
// dropped once the port is known.
export async function startServer(name, args = [], { env = {}, timeoutMs = 20000 } = {}) {
  const child = spawn(path.join(BIN_DIR, name), ['--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const srv = { name, child, pid: child.pid, report: null, tailText: '', exit: null };
  let carry = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => {
    if (srv.report !== null) {
      if (srv.report.length < 256 * 1024) srv.report += d;
      return;
    }
    const text = carry + d;
    const m = REPORT.exec(text);
    if (m) {
      const lineStart = text.lastIndexOf('\n', m.index) + 1;
      srv.report = text.slice(Math.max(0, lineStart - 2000));
    } else {
      srv.tailText = (srv.tailText + d).slice(-16384);
      carry = text.slice(-200);
    }
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${srv.tailText}`)), timeoutMs);
    const onData = (d) => {
      out += d;
      const m = /listening on (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        out = '';
        child.stdout.off('data', onData);
        child.stdout.on('data', () => {}); // keep the pipe drained
        resolve(Number(m[1]));
      } else if (out.length > 65536) {
        out = out.slice(-1024);
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited ${code ?? signal}: ${srv.tailText}`));
    });
  });
  srv.exited = new Promise((resolve) => child.on('exit', (code, signal) => {
    srv.exit = { code, signal };
    resolve(srv.exit);
  }));
  srv.port = port;
  srv.url = `http://127.0.0.1:${port}`;
  srv.alive = () => srv.exit === null;
  // SIGTERM, then SIGKILL after timeoutMs (a server that does not stop is hung).
  srv.stop = async (timeoutMs = 30000) => {
    if (srv.exit) return { ...srv.exit, killed: false };
    child.kill('SIGTERM');
    let killed = false;
    const timer = setTimeout(() => { killed = true; child.kill('SIGKILL'); }, timeoutMs);
    const r = await srv.exited;
    clearTimeout(timer);
    // let the last of stderr arrive
    await new Promise((resolve) => (child.stderr.readableEnded ? resolve() : child.stderr.once('end', resolve)));
    return { ...r, killed };
  };
  return srv;
}

// The server's resident set size in KiB.
export function rssKiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

// Does the server answer an Engine.IO polling handshake within timeoutMs?
// (The session it opens ends with its heartbeat.)
export async function probe(url, timeoutMs) {
  try {
    const r = await fetch(`${url}/socket.io/?EIO=4&transport=polling`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = await r.text();
    return r.status === 200 && body[0] === '0';
  } catch {
    return false;
  }
}

// Ends a net.Socket the way `how` says: 'fin' (end), 'rst' (resetAndDestroy), 'destroy'.
export function cut(sock, how) {
  if (!sock || sock.destroyed) return;
  try {
    if (how === 'fin') sock.end();
    else if (how === 'rst') sock.resetAndDestroy();
    else sock.destroy();
  } catch {
    sock.destroy();
  }
}

// A promise that rejects after ms (for Promise.race).
export function deadline(ms, what) {
  let timer;
  const p = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: timeout ${ms} ms`)), ms); });
  p.cancel = () => clearTimeout(timer);
  p.catch(() => {});
  return p;
}

export async function within(promise, ms, what) {
  const d = deadline(ms, what);
  try {
    return await Promise.race([promise, d]);
  } finally {
    d.cancel();
  }
}
