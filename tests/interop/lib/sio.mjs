// Helpers for the Socket.IO tests with the official client (socket.io-client
// 4.x) against tests/helpers/sio_test_server: the three transport modes, bounded
// waits, and the server's record of disconnect reasons.
import { io } from 'socket.io-client';

// A heartbeat for feature tests that tolerates a loaded machine (the test
// server's own default, 300/200 ms, is the protocol suite's; tests of the
// heartbeat itself use that or shorter).
export const RELAXED = ['--ping-interval', '2000', '--ping-timeout', '3000'];

// Every feature runs over each of these.
export const MODES = [
  { name: 'polling', transports: ['polling'] },
  { name: 'websocket', transports: ['websocket'] },
  { name: 'upgrade', transports: ['polling', 'websocket'] },
];

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Resolves with the arguments of the next `event` on `emitter`, or rejects after timeoutMs.
export function once(emitter, event, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, handler);
      reject(new Error(`no "${event}" within ${timeoutMs} ms`));
    }, timeoutMs);
    const handler = (...args) => { clearTimeout(timer); resolve(args); };
    emitter.once(event, handler);
  });
}

// Resolves with the first `n` arguments lists of `event`.
export function collect(emitter, event, n, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const got = [];
    const timer = setTimeout(() => {
      emitter.off(event, handler);
      reject(new Error(`only ${got.length} of ${n} "${event}" within ${timeoutMs} ms`));
    }, timeoutMs);
    const handler = (...args) => {
      got.push(args);
      if (got.length === n) { clearTimeout(timer); emitter.off(event, handler); resolve(got); }
    };
    emitter.on(event, handler);
  });
}

// Records every `event` on `emitter` (for "received nothing" checks).
export function record(emitter, event) {
  const got = [];
  emitter.on(event, (...args) => got.push(args));
  return got;
}

// A client socket, not yet connected: options for the mode, no automatic
// reconnection unless asked, short reconnection delays.
export function client(url, nsp, mode, opts = {}) {
  return io(url + nsp, {
    transports: mode.transports,
    forceNew: true,
    reconnection: false,
    reconnectionDelay: 100,
    reconnectionDelayMax: 200,
    timeout: 5000,
    ...opts,
  });
}

// Connects and resolves with the socket once connected (and, in the upgrade
// mode, once the transport is websocket); rejects with the connect_error.
export async function connect(url, nsp, mode, opts = {}) {
  const s = client(url, nsp, mode, opts);
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no connection to ${nsp}`)), 5000);
    s.once('connect', () => { clearTimeout(timer); resolve(); });
    s.once('connect_error', (e) => { clearTimeout(timer); s.close(); reject(e); });
  });
  if (mode.name === 'upgrade') await upgraded(s);
  return s;
}

// Waits until the engine's transport is websocket.
export async function upgraded(s, timeoutMs = 5000) {
  const engine = s.io.engine;
  if (engine.transport.name === 'websocket') return;
  await once(engine, 'upgrade', timeoutMs);
}

// The reason the server recorded for socket `sid`, waiting for it (bounded).
export async function serverReason(srv, sid, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await fetch(`${srv.url}/test/disconnect-reason?sid=${encodeURIComponent(sid)}`);
    const text = await r.text();
    if (r.status === 200) return text;
    if (Date.now() > deadline) return null;
    await sleep(20);
  }
}

// Closes every socket given, ignoring those already closed.
export function closeAll(...sockets) {
  for (const s of sockets.flat()) if (s) s.close();
}
