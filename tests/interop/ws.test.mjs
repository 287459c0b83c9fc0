// The WebSocket layer against a real peer, the npm `ws` client: echo at every
// frame length boundary up to 16 MiB, fragmentation, ping/pong, every close
// path, the message size limit, permessage-deflate, many connections and a
// slow reader. The server is ws-echo-server (tests/helpers); a few tests use
// raw sockets (lib/rawws.mjs) where the `ws` client would behave too well.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import WebSocket from 'ws';
import { startServer } from './lib/server.mjs';
import { sleep } from './lib/rawhttp.mjs';
import { OP, closeBody, frame, openRaw } from './lib/rawws.mjs';

const CLOSE_TIMEOUT = 1000;
let srv; // default limits (max message 1,000,000), a short close timeout
let big; // --max-message 17000000
let dfl; // --deflate

before(async () => {
  [srv, big, dfl] = await Promise.all([
    startServer('ws-echo-server', ['--close-timeout', String(CLOSE_TIMEOUT)]),
    startServer('ws-echo-server', ['--max-message', '17000000']),
    startServer('ws-echo-server', ['--deflate']),
  ]);
});

after(async () => {
  for (const s of [srv, big, dfl]) {
    const r = await s.stop();
    assert.equal(r.code, 0, 'server exits cleanly (and leak-free under ASan) on SIGTERM');
  }
});

const wsUrl = (s) => `ws://127.0.0.1:${s.port}/ws`;

// A `ws` client with a queue of received messages and a promise of its close.
class Peer {
  static open(server, opts = {}) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(wsUrl(server), { perMessageDeflate: false, ...opts });
      const p = new Peer(ws);
      ws.once('open', () => resolve(p));
      ws.once('error', reject);
    });
  }

  constructor(ws) {
    this.ws = ws;
    this.queue = [];
    this.waiters = [];
    this.errors = [];
    this.closeInfo = null;
    ws.on('message', (data, isBinary) => {
      const m = { data, isBinary };
      if (this.waiters.length) this.waiters.shift().resolve(m);
      else this.queue.push(m);
    });
    ws.on('error', (e) => this.errors.push(e));
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        for (const w of this.waiters.splice(0)) w.reject(new Error(`closed (${code}) while waiting for a message`));
        resolve(this.closeInfo);
      });
    });
  }

  recv(timeoutMs = 20000) {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    if (this.closeInfo) return Promise.reject(new Error(`closed (${this.closeInfo.code})`));
    return new Promise((resolve, reject) => {
      const entry = {
        resolve: (m) => { clearTimeout(timer); resolve(m); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== entry);
        reject(new Error(`no message in ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(entry);
    });
  }

  send(data, opts = {}) {
    return new Promise((resolve, reject) => this.ws.send(data, opts, (e) => (e ? reject(e) : resolve())));
  }

  async echo(data, opts = {}) {
    await this.send(data, opts);
    return this.recv();
  }

  async closeWith(code, reason) {
    this.ws.close(code, reason);
    return withTimeout(this.closed, 10000, 'close');
  }
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: nothing in ${ms} ms`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

// The server's counters, asked for on a connection of its own (counted in them).
async function stats(server) {
  const p = await Peer.open(server);
  const m = await p.echo('stats');
  await p.closeWith(1000);
  return JSON.parse(m.data.toString());
}

// Polls the server until it counts `n` connections besides the asking one.
async function waitConnections(server, n, timeoutMs = 10000) {
  const t0 = Date.now();
  let st;
  while (Date.now() - t0 < timeoutMs) {
    st = await stats(server);
    if (st.connections - 1 === n) return st;
    await sleep(50);
  }
  assert.fail(`server still counts ${st.connections - 1} connections, expected ${n}`);
}

// Exactly n bytes of valid UTF-8 mixing 1- to 4-byte characters.
function utf8Text(n) {
  const pattern = Buffer.from('héllo wörld, € and 😀 — ');
  const b = Buffer.alloc(n, pattern);
  const whole = Math.floor(n / pattern.length) * pattern.length;
  b.fill(0x78, whole); // a cut-off copy of the pattern could split a character
  return b;
}

// ---- echo ---------------------------------------------------------------------------------

async function echoSizes(server, sizes) {
  const p = await Peer.open(server);
  for (const n of sizes) {
    const text = utf8Text(n);
    let m = await p.echo(text.toString('utf8'));
    assert.equal(m.isBinary, false, `text ${n}`);
    assert.equal(m.data.length, n, `text ${n}: length`);
    assert.ok(m.data.equals(text), `text ${n}: content`);

    const bin = crypto.randomBytes(n);
    m = await p.echo(bin);
    assert.equal(m.isBinary, true, `binary ${n}`);
    assert.equal(m.data.length, n, `binary ${n}: length`);
    assert.ok(m.data.equals(bin), `binary ${n}: content`);
  }
  assert.deepEqual(await p.closeWith(1000), { code: 1000, reason: '' });
}

test('text and binary echo at 0, 1, 125, 126, 65535, 65536 and 1,000,000 bytes', async () => {
  await echoSizes(srv, [0, 1, 125, 126, 65535, 65536, 1000000]);
});

test('text and binary echo at 1 MiB and 16 MiB', async () => {
  await echoSizes(big, [1 << 20, 16 << 20]);
});

// ---- fragmentation ----------------------------------------------------------------------

test('fragmented sends are reassembled, even with a character split across fragments', async () => {
  const p = await Peer.open(srv);
  // "a€b": the euro sign (E2 82 AC) is cut after its first and second byte
  const text = Buffer.from('a€b');
  p.send(text.subarray(0, 2), { binary: false, fin: false });
  p.send(text.subarray(2, 3), { binary: false, fin: false });
  await p.send(text.subarray(3), { binary: false, fin: true });
  let m = await p.recv();
  assert.equal(m.isBinary, false);
  assert.equal(m.data.toString(), 'a€b');

  // a 4-byte character split in every possible place
  const smile = Buffer.from('x😀y');
  for (let cut = 1; cut < smile.length; cut++) {
    p.send(smile.subarray(0, cut), { binary: false, fin: false });
    await p.send(smile.subarray(cut), { binary: false, fin: true });
    m = await p.recv();
    assert.equal(m.data.toString(), 'x😀y', `cut at ${cut}`);
  }

  // binary in 100 fragments, some empty
  const bin = crypto.randomBytes(100 * 1000);
  for (let i = 0; i < 100; i++) {
    const chunk = i % 10 === 5 ? Buffer.alloc(0) : bin.subarray(i * 1000, (i + 1) * 1000);
    p.send(chunk, { binary: true, fin: false });
  }
  const rest = Buffer.concat([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((k) => bin.subarray((10 * k + 5) * 1000, (10 * k + 6) * 1000)));
  await p.send(rest, { binary: true, fin: true });
  m = await p.recv();
  assert.equal(m.isBinary, true);
  const expected = Buffer.concat([
    ...Array.from({ length: 100 }, (_, i) => (i % 10 === 5 ? Buffer.alloc(0) : bin.subarray(i * 1000, (i + 1) * 1000))),
    rest,
  ]);
  assert.ok(m.data.equals(expected));

  // a ping between fragments is answered, the message still arrives whole
  const pong = new Promise((resolve) => p.ws.once('pong', resolve));
  p.send('first half, ', { fin: false });
  p.ws.ping('mid');
  await p.send('second half', { fin: true });
  assert.equal((await withTimeout(pong, 5000, 'pong')).toString(), 'mid');
  assert.equal((await p.recv()).data.toString(), 'first half, second half');
  assert.equal((await p.closeWith(1000)).code, 1000);
});

// ---- ping / pong ------------------------------------------------------------------------

test('ping gets a pong with the same payload; an unsolicited pong is ignored', async () => {
  const p = await Peer.open(srv);
  for (const payload of [Buffer.alloc(0), Buffer.from('hello ping'), crypto.randomBytes(125)]) {
    const pong = new Promise((resolve) => p.ws.once('pong', resolve));
    p.ws.ping(payload);
    const got = await withTimeout(pong, 5000, 'pong');
    assert.ok(got.equals(payload), `pong payload of ${payload.length} bytes`);
  }
  let pings = 0;
  p.ws.on('ping', () => pings++);
  p.ws.pong('nobody asked');
  p.ws.pong();
  const m = await p.echo('after the pongs');
  assert.equal(m.data.toString(), 'after the pongs');
  await sleep(50);
  assert.equal(p.queue.length, 0, 'nothing but the echo came back');
  assert.equal(pings, 0);
  assert.equal(p.ws.readyState, WebSocket.OPEN);
  assert.equal((await p.closeWith(1000)).code, 1000);
});

// ---- closing ----------------------------------------------------------------------------

test('client closes with 1000, or with a 4000-range code and a reason: the server echoes the code', async () => {
  const before = await stats(srv);
  let p = await Peer.open(srv);
  assert.equal((await p.echo('hi')).data.toString(), 'hi');
  assert.deepEqual(await p.closeWith(1000), { code: 1000, reason: '' });

  p = await Peer.open(srv);
  assert.equal((await p.closeWith(4000, 'done here')).code, 4000);
  p = await Peer.open(srv);
  assert.equal((await p.closeWith(4999, 'ü'.repeat(61))).code, 4999, 'a 124-byte close body');

  const after = await waitConnections(srv, before.connections - 1);
  assert.ok(after.closes >= before.closes + 3, `server reported ${after.closes - before.closes} closes`);
});

test('server-initiated close: the client sees the code and reason', async () => {
  let p = await Peer.open(srv);
  await p.send('close:4001:bye');
  assert.deepEqual(await withTimeout(p.closed, 5000, 'close'), { code: 4001, reason: 'bye' });
  p = await Peer.open(srv);
  await p.send('close:1000:');
  assert.deepEqual(await withTimeout(p.closed, 5000, 'close'), { code: 1000, reason: '' });
  // a reason past the 123 bytes a close frame can carry is cut at a character boundary
  for (const [ch, kept] of [['é', 61], ['😀', 30]]) {
    p = await Peer.open(srv);
    await p.send(`close:4003:${ch.repeat(70)}`);
    const c = await withTimeout(p.closed, 5000, 'close');
    assert.deepEqual(c, { code: 4003, reason: ch.repeat(kept) });
    assert.deepEqual(p.errors, [], 'the reason is valid UTF-8');
  }
  // a code the server may not send becomes 1000
  p = await Peer.open(srv);
  await p.send('close:1005:x');
  assert.equal((await withTimeout(p.closed, 5000, 'close')).code, 1000);
  // messages sent after the server's close frame are not echoed
  p = await Peer.open(srv);
  p.send('close:4002:later');
  p.send('ignored');
  assert.equal((await withTimeout(p.closed, 5000, 'close')).code, 4002);
  assert.equal(p.queue.length, 0);
});

test('a client that never answers the server close is cut off after --close-timeout', async () => {
  const { socket, reader } = await openRaw(srv.port);
  socket.write(frame({ opcode: OP.TEXT, payload: 'close:4001:bye' }));
  const f = await reader.next();
  const t0 = Date.now();
  assert.equal(f.opcode, OP.CLOSE);
  assert.equal(f.code, 4001);
  assert.equal(f.reason, 'bye');
  // keep sending data (not a close frame): it must not keep the connection alive
  const ticker = setInterval(() => socket.write(frame({ opcode: OP.TEXT, payload: 'ping?' })), 100);
  try {
    await reader.waitClose(CLOSE_TIMEOUT * 5);
  } finally {
    clearInterval(ticker);
  }
  const elapsed = Date.now() - t0;
  assert.ok(elapsed >= CLOSE_TIMEOUT * 0.8, `closed after ${elapsed} ms, before the close timeout`);
  assert.ok(elapsed < CLOSE_TIMEOUT * 4, `closed after ${elapsed} ms`);
  assert.equal(reader.frames.length, 0, 'no echo after the close frame');
});

test('an abrupt TCP close (also mid-frame) frees the connection', async () => {
  const base = (await stats(srv)).connections - 1;
  const peers = await Promise.all([1, 2, 3].map(() => Peer.open(srv)));
  for (const p of peers) assert.equal((await p.echo('x')).data.toString(), 'x');
  await waitConnections(srv, base + 3);
  peers[0].ws.terminate();
  peers[1].ws._socket.destroy();
  // a raw client that dies in the middle of a frame, and one in the middle of a message
  const a = await openRaw(srv.port);
  a.socket.write(frame({ opcode: OP.BINARY, payload: Buffer.alloc(5000) }).subarray(0, 2000));
  const b = await openRaw(srv.port);
  b.socket.write(frame({ opcode: OP.TEXT, fin: false, payload: 'part' }));
  await sleep(50);
  a.socket.destroy();
  b.socket.destroy();
  await waitConnections(srv, base + 1);
  assert.equal((await peers[2].echo('still here')).data.toString(), 'still here');
  assert.equal((await peers[2].closeWith(1000)).code, 1000);
  await waitConnections(srv, base);
});

test('server shutdown (SIGTERM) closes every client with 1001 and exits 0', async () => {
  const s = await startServer('ws-echo-server', ['--close-timeout', '500']);
  const peers = await Promise.all([1, 2, 3].map(() => Peer.open(s)));
  for (const p of peers) assert.equal((await p.echo('up')).data.toString(), 'up');
  // one raw client that will not answer the close frame: the close timeout ends it
  const raw = await openRaw(s.port);
  const t0 = Date.now();
  const stopped = s.stop();
  for (const p of peers) assert.equal((await withTimeout(p.closed, 5000, 'close')).code, 1001);
  const f = await raw.reader.next();
  assert.equal(f.opcode, OP.CLOSE);
  assert.equal(f.code, 1001);
  await raw.reader.waitClose();
  const r = await stopped;
  assert.equal(r.code, 0);
  assert.ok(Date.now() - t0 < 5000, `shutdown took ${Date.now() - t0} ms`);
});

// ---- limits -------------------------------------------------------------------------------

test('a message over --max-message is closed with 1009, other connections are unaffected', async () => {
  const other = await Peer.open(srv);
  assert.equal((await other.echo('before')).data.toString(), 'before');
  for (const n of [1000001, 4 << 20]) {
    const p = await Peer.open(srv);
    p.send(crypto.randomBytes(n)).catch(() => {}); // the server may close before it is all sent
    const c = await withTimeout(p.closed, 10000, 'close');
    assert.equal(c.code, 1009, `message of ${n} bytes`);
    assert.equal(p.queue.length, 0);
  }
  // the same split in fragments
  const p = await Peer.open(srv);
  for (let i = 0; i < 3; i++) p.send(Buffer.alloc(400000, i), { binary: true, fin: false });
  p.send(Buffer.alloc(10), { binary: true, fin: true }).catch(() => {});
  assert.equal((await withTimeout(p.closed, 10000, 'close')).code, 1009);

  const m = await other.echo(crypto.randomBytes(1000000));
  assert.equal(m.data.length, 1000000, 'the largest allowed message still echoes');
  assert.equal((await other.echo('after')).data.toString(), 'after');
  assert.equal((await other.closeWith(1000)).code, 1000);
});

// ---- permessage-deflate ------------------------------------------------------------------

test('permessage-deflate: negotiated with --deflate, ignored without it', async () => {
  let p = await Peer.open(dfl, { perMessageDeflate: true });
  assert.equal(p.ws.extensions, 'permessage-deflate');
  assert.equal((await p.echo('small')).data.toString(), 'small');
  await p.closeWith(1000);

  p = await Peer.open(srv, { perMessageDeflate: true });
  assert.equal(p.ws.extensions, '', 'the offer is ignored by a server without --deflate');
  const text = 'no compression here '.repeat(500);
  assert.equal((await p.echo(text)).data.toString(), text);
  await p.closeWith(1000);

  p = await Peer.open(dfl, { perMessageDeflate: false });
  assert.equal(p.ws.extensions, '', 'no offer, no extension');
  assert.equal((await p.echo(text)).data.toString(), text);
  await p.closeWith(1000);
});

test('permessage-deflate: large and many compressed messages echo byte for byte', async () => {
  const configs = [
    true,
    { serverNoContextTakeover: true, clientNoContextTakeover: true },
    { serverMaxWindowBits: 9, clientMaxWindowBits: 9 },
    { clientMaxWindowBits: 8, threshold: 0 },
  ];
  for (const perMessageDeflate of configs) {
    const p = await Peer.open(dfl, { perMessageDeflate });
    assert.equal(p.ws.extensions, 'permessage-deflate', JSON.stringify(perMessageDeflate));
    const text = utf8Text(900000);
    let m = await p.echo(text.toString());
    assert.ok(m.data.equals(text), 'compressible text');
    const bin = crypto.randomBytes(500000);
    m = await p.echo(bin);
    assert.equal(m.isBinary, true);
    assert.ok(m.data.equals(bin), 'incompressible binary');
    // many messages in a row: the compression contexts carry over (or not) correctly
    const msgs = Array.from({ length: 50 }, (_, i) => `message ${i} `.repeat(100 + i));
    for (const x of msgs) p.send(x);
    for (const x of msgs) assert.equal((await p.recv()).data.toString(), x);
    // fragmented and compressed
    p.send('frag one '.repeat(300), { fin: false });
    await p.send('frag two '.repeat(300), { fin: true });
    assert.equal((await p.recv()).data.toString(), 'frag one '.repeat(300) + 'frag two '.repeat(300));
    assert.equal((await p.closeWith(1000)).code, 1000);
  }
});

test('permessage-deflate: a message that inflates past --max-message (zip bomb) is closed with 1009', async () => {
  const other = await Peer.open(dfl, { perMessageDeflate: true });
  const bomb = await Peer.open(dfl, { perMessageDeflate: true });
  // 20 MB of zeros compress to about 20 KB
  bomb.send(Buffer.alloc(20000000)).catch(() => {});
  assert.equal((await withTimeout(bomb.closed, 20000, 'close')).code, 1009);
  assert.equal(bomb.queue.length, 0);
  const bomb2 = await Peer.open(dfl, { perMessageDeflate: true });
  bomb2.send('a'.repeat(1000001)).catch(() => {});
  assert.equal((await withTimeout(bomb2.closed, 20000, 'close')).code, 1009, 'one byte over the limit');
  const ok = 'b'.repeat(1000000);
  assert.equal((await other.echo(ok)).data.toString(), ok, 'exactly the limit is fine');
  assert.equal((await other.closeWith(1000)).code, 1000);
});

// ---- many clients, slow clients ----------------------------------------------------------

test('1,000 concurrent connections each echo 10 messages', async () => {
  const N = 1000;
  const base = (await stats(srv)).connections - 1;
  const peers = await Promise.all(Array.from({ length: N }, () => Peer.open(srv)));
  await Promise.all(peers.map(async (p, i) => {
    const sent = Array.from({ length: 10 }, (_, k) => `client ${i} message ${k}`);
    for (const x of sent) p.send(x);
    for (const x of sent) assert.equal((await p.recv(60000)).data.toString(), x);
  }));
  const st = await stats(srv);
  assert.equal(st.connections - 1, base + N);
  const codes = await Promise.all(peers.map((p) => p.closeWith(1000)));
  assert.ok(codes.every((c) => c.code === 1000));
  await waitConnections(srv, base);
});

// Output to many connections after a read is put off for a few non-blocking
// polls (ws_conn.c, flush_all) so that waiting input joins the same writes.
// A lone broadcast must still leave at once (nothing stalls until the next
// input), and back-to-back broadcasts arrive whole and in order everywhere.
test('broadcast to 200 connections: a lone message is not held back, bursts arrive in order', async () => {
  const s = await startServer('ws-echo-server', ['--broadcast']);
  try {
    const N = 200;
    const peers = await Promise.all(Array.from({ length: N }, () => Peer.open(s)));
    await peers[0].send('B lone');
    for (const p of peers) assert.equal((await p.recv(5000)).data.toString(), 'B lone');
    const SENDERS = 5;
    const PER = 40;
    await Promise.all(peers.slice(0, SENDERS).map(async (p, i) => {
      for (let k = 0; k < PER; k++) p.send(`B ${i} ${k}`);
    }));
    await Promise.all(peers.map(async (p, j) => {
      const next = new Array(SENDERS).fill(0);
      for (let n = 0; n < SENDERS * PER; n++) {
        const [, i, k] = (await p.recv(10000)).data.toString().split(' ').map(Number);
        assert.equal(k, next[i], `peer ${j}: sender ${i}'s messages in order`);
        next[i]++;
      }
      assert.deepEqual(next, new Array(SENDERS).fill(PER));
      assert.equal(p.queue.length, 0, `peer ${j}: nothing more`);
    }));
    // and once more after the burst: the last turn's deferral ended
    await peers[N - 1].send('B after');
    for (const p of peers) assert.equal((await p.recv(5000)).data.toString(), 'B after');
    await Promise.all(peers.map((p) => p.closeWith(1000)));
  } finally {
    assert.equal((await s.stop()).code, 0);
  }
});

test('a slow reader is cut off at --max-queue while another client keeps working', async () => {
  const s = await startServer('ws-echo-server', ['--max-queue', '262144']);
  try {
    const good = await Peer.open(s);
    const { socket, reader } = await openRaw(s.port);
    socket.pause(); // never read again: the echoes pile up in the server's output queue
    const chunk = frame({ opcode: OP.BINARY, payload: crypto.randomBytes(65536) });
    let dead = false;
    socket.on('close', () => { dead = true; });
    socket.on('error', () => { dead = true; });
    let sent = 0;
    let echoes = 0;
    // at most 512 MB: far beyond what loopback socket buffers and the queue can hold
    for (let i = 0; i < 8192 && !dead; i++) {
      if (!socket.write(chunk)) {
        await Promise.race([new Promise((r) => socket.once('drain', r)), sleep(100)]);
      }
      sent += chunk.length;
      if (i % 16 === 0) {
        const m = await good.echo(`alive ${i}`);
        assert.equal(m.data.toString(), `alive ${i}`);
        echoes++;
        if ((await good.echo('stats')).data.toString().includes('"connections":1,')) break;
      }
    }
    const st = await waitConnections(s, 1); // `good` is still connected
    assert.ok(st.closes >= 1);
    assert.match(s.stderr(), /output queue over 262144 bytes: disconnecting a slow reader/);
    assert.ok(sent < 64 << 20, `cut off after ${sent >> 20} MB sent`);
    assert.ok(echoes >= 1);
    assert.equal(reader.frames.length, 0, 'the slow reader read nothing');
    socket.destroy();
    assert.equal((await good.echo('after')).data.toString(), 'after');
    await good.closeWith(1000);
  } finally {
    assert.equal((await s.stop()).code, 0);
  }
});
