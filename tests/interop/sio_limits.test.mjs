// Per-client and server-wide bounds of the Socket.IO layer, driven against
// tests/helpers/sio_reentry_server.c:
//   - max_namespaces_per_client: a raw client sending thousands of CONNECTs
//     gets CONNECT_ERROR "Too many namespaces" past the cap, and its other
//     namespaces carry on;
//   - dynamic child namespaces are removed with their last socket
//     (cleanupEmptyChildNamespaces, on by default): after the client leaves,
//     the server's namespace count is back where it was;
//   - max_dynamic_namespaces bounds the live children server-wide (and the
//     kept ones, with --keep-empty-namespaces);
//   - max_rooms_per_socket: a join beyond fails (SIO_ETOOBIG), and leaving
//     makes room again;
//   - max_rooms, the server-wide cap on distinct rooms (all namespaces
//     together), against tests/helpers/sio_test_server's /chat and /features joins:
//     many clients joining distinct rooms are refused past it, rooms that
//     exist stay joinable, a socket's own id is never refused, and once the
//     clients have left every room is gone (a fresh set of clients can fill
//     the cap again; under ASan the server exits leak-free).
// The namespace count comes from sio_server_namespace_count (the fixture's
// "stats" event).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { RawWs } from './lib/rawsio.mjs';
import { connect, serverReason, sleep } from './lib/sio.mjs';

const WS = { name: 'websocket', transports: ['websocket'] };
const ETOOBIG = -30002;

async function stats(srv) {
  const s = await connect(srv.url, '/', WS);
  try { return await s.timeout(5000).emitWithAck('stats'); } finally { s.close(); }
}

// Waits (bounded) until the namespace count is `want`.
async function namespacesBecome(srv, want, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  let n;
  while ((n = (await stats(srv)).namespaces) !== want && Date.now() < deadline) await sleep(50);
  return n;
}

// Sends CONNECTs for /dyn-<from>.. /dyn-<to-1> and collects one answer each:
// { ok: names connected, refused: CONNECT_ERROR messages by name }.
async function connectMany(c, from, to) {
  const packets = [];
  for (let i = from; i < to; i++) packets.push(`40/dyn-${i},`);
  await c.send(...packets);
  const ok = [];
  const refused = {};
  for (let i = from; i < to; i++) {
    const p = await c.next(10000);
    const m = /^4([04])(\/dyn-\d+),(.*)$/.exec(p);
    assert.ok(m, `a CONNECT answer, got ${String(p).slice(0, 80)}`);
    if (m[1] === '0') ok.push(m[2]);
    else refused[m[2]] = JSON.parse(m[3]).message;
  }
  return { ok, refused };
}

describe('namespaces (defaults: 32 per client, 10000 dynamic, empty children removed)', () => {
  let srv;
  let base;
  before(async () => {
    srv = await startServer('sio-reentry-server');
    base = (await stats(srv)).namespaces; // "/" and "/r"
  });
  after(async () => {
    const r = await srv.stop();
    assert.equal(r.code, 0, 'server exits cleanly (and leak-free under ASan)');
  });

  test('5,000 CONNECTs from one client: 32 namespaces, the rest refused, all gone after it leaves', async () => {
    const c = await RawWs.open(srv.url);
    try {
      await c.send('40');
      assert.match(await c.next(), /^40\{"sid":/);
      const { ok, refused } = await connectMany(c, 0, 5000);
      assert.equal(ok.length, 31, 'the cap counts "/" too');
      assert.equal(Object.keys(refused).length, 5000 - 31);
      assert.equal(refused['/dyn-4999'], 'Too many namespaces');
      assert.equal(await namespacesBecome(srv, base + 31), base + 31);
      // the connection still works in the namespaces it is in
      await c.send('42/dyn-0,7["whoami"]');
      assert.equal(await c.next(), '43/dyn-0,7["/dyn-0"]');
      // leaving one namespace frees a slot (and removes that child)
      await c.send('41/dyn-0,');
      await c.send('40/dyn-99999,');
      assert.match(await c.next(), /^40\/dyn-99999,\{"sid":/);
    } finally { c.close(); }
    assert.equal(await namespacesBecome(srv, base), base, 'every dynamic child removed');
  });

  test('3,000 namespaces joined and left one after the other leave nothing behind', async () => {
    const c = await RawWs.open(srv.url);
    try {
      await c.send('40');
      assert.match(await c.next(), /^40\{"sid":/);
      for (let i = 0; i < 3000; i += 100) {
        const packets = [];
        for (let k = i; k < i + 100; k++) packets.push(`40/dyn-${k},`, `41/dyn-${k},`);
        await c.send(...packets);
        for (let k = i; k < i + 100; k++) assert.match(await c.next(), /^40\/dyn-\d+,\{"sid":/);
      }
      assert.equal(await namespacesBecome(srv, base), base);
    } finally { c.close(); }
  });
});

describe('namespaces: --max-namespaces 8 --max-dynamic 20', () => {
  let srv;
  let base;
  before(async () => {
    srv = await startServer('sio-reentry-server', ['--max-namespaces', '8', '--max-dynamic', '20']);
    base = (await stats(srv)).namespaces;
  });
  after(async () => {
    const r = await srv.stop();
    assert.equal(r.code, 0);
  });

  test('the server-wide cap on live dynamic children', async () => {
    const clients = [];
    try {
      let total = 0;
      for (let i = 0; i < 4; i++) {
        const c = await RawWs.open(srv.url);
        clients.push(c);
        const { ok, refused } = await connectMany(c, i * 100, i * 100 + 10);
        assert.equal(ok.length + Object.keys(refused).length, 10);
        assert.ok(ok.length <= 8, 'per client');
        for (const msg of Object.values(refused)) assert.equal(msg, 'Too many namespaces');
        total += ok.length;
      }
      assert.equal(total, 20, 'server-wide');
      assert.equal(await namespacesBecome(srv, base + 20), base + 20);
      // a namespace that exists is not a new child: a fifth client may join it
      const e = await RawWs.open(srv.url);
      clients.push(e);
      await e.send('40/dyn-0,', '40/dyn-555,');
      assert.match(await e.next(), /^40\/dyn-0,\{"sid":/);
      assert.equal(await e.next(), '44/dyn-555,{"message":"Too many namespaces"}');
    } finally { for (const c of clients) c.close(); }
    assert.equal(await namespacesBecome(srv, base), base);
    // room again after they left
    const c = await RawWs.open(srv.url);
    try {
      const { ok } = await connectMany(c, 0, 8);
      assert.equal(ok.length, 8);
    } finally { c.close(); }
  });
});

describe('namespaces: --keep-empty-namespaces --max-dynamic 50', () => {
  let srv;
  let base;
  before(async () => {
    srv = await startServer('sio-reentry-server', ['--keep-empty-namespaces', '--max-dynamic', '50']);
    base = (await stats(srv)).namespaces;
  });
  after(async () => {
    const r = await srv.stop();
    assert.equal(r.code, 0);
  });

  test('kept children stay after their clients leave, up to the cap', async () => {
    for (let round = 0; round < 3; round++) {
      const c = await RawWs.open(srv.url);
      try {
        const { ok, refused } = await connectMany(c, round * 30, round * 30 + 30);
        if (round === 0) assert.equal(ok.length, 30);
        if (round === 1) assert.equal(ok.length, 20);
        if (round === 2) assert.equal(Object.keys(refused).length, 30);
      } finally { c.close(); }
    }
    assert.equal(await namespacesBecome(srv, base + 50), base + 50);
    // the kept ones are still joinable
    const c = await RawWs.open(srv.url);
    try {
      const { ok } = await connectMany(c, 0, 5);
      assert.equal(ok.length, 5);
    } finally { c.close(); }
  });
});

describe('rooms per socket', () => {
  for (const [flags, cap] of [[[], 1024], [['--max-rooms-per-socket', '5000'], 5000]]) {
    test(`cap ${cap}${flags.length ? '' : ' (the default)'}: a join beyond fails, a leave makes room`, async () => {
      const srv = await startServer('sio-reentry-server', flags);
      try {
        const s = await connect(srv.url, '/', WS);
        try {
          let r = await s.timeout(20000).emitWithAck('join_many', 'room-', cap + 100);
          assert.deepEqual(r, { joined: cap, error: ETOOBIG, rooms: cap });
          r = await s.timeout(20000).emitWithAck('join_many', 'room-', 10); // already in
          assert.deepEqual(r, { joined: 10, error: 0, rooms: cap });
          r = await s.timeout(20000).emitWithAck('leave_many', 'room-', 1);
          assert.deepEqual(r, { rooms: cap - 1 });
          r = await s.timeout(20000).emitWithAck('join_many', 'other-', 2);
          assert.deepEqual(r, { joined: 1, error: ETOOBIG, rooms: cap });
          r = await s.timeout(20000).emitWithAck('leave_many', 'room-', cap + 100);
          assert.deepEqual(r, { rooms: 1 });
        } finally { s.close(); }
      } finally {
        const r = await srv.stop();
        assert.equal(r.code, 0);
      }
    });
  }
});

describe('rooms server-wide: sio-test-server --max-rooms 300 --max-rooms-per-socket 100', () => {
  const CAP = 300;
  const PER_SOCKET = 100;
  let srv;
  before(async () => {
    srv = await startServer('sio-test-server', [
      '--max-rooms', String(CAP), '--max-rooms-per-socket', String(PER_SOCKET),
      '--ping-interval', '2000', '--ping-timeout', '3000',
    ]);
  });
  after(async () => {
    const r = await srv.stop();
    assert.equal(r.code, 0, 'server exits cleanly (and leak-free under ASan)');
  });

  // Each client joins its rooms concurrently: resolves with the acks, in order.
  const joinAll = (s, rooms) => Promise.all(rooms.map((r) => s.timeout(10000).emitWithAck('join', r)));
  const names = (prefix, n) => Array.from({ length: n }, (_, k) => `${prefix}-${k}`);
  const refusal = { error: ETOOBIG, message: 'Too many rooms' };

  // Closes the clients and waits until the server has processed each one's
  // disconnection (its rooms are left synchronously with it).
  async function leave(clients) {
    const ids = clients.map((s) => s.id);
    for (const s of clients) s.close();
    for (const id of ids) assert.ok(await serverReason(srv, id), `server saw ${id} leave`);
  }

  // `n` clients, each joining `per` distinct rooms named <prefix>-<client>-<k>.
  async function fill(prefix, n, per) {
    const clients = await Promise.all(Array.from({ length: n }, () => connect(srv.url, '/chat', WS)));
    const acks = await Promise.all(clients.map((s, i) => joinAll(s, names(`${prefix}-${i}`, per))));
    return { clients, acks };
  }

  test('10 clients x 50 distinct rooms: 300 made, 200 refused; existing rooms stay joinable', async () => {
    const { clients, acks } = await fill('a', 10, 50);
    const extra = [];
    try {
      const flat = acks.flat();
      const made = flat.filter((a) => a === true).length;
      assert.equal(made, CAP, 'exactly the cap of distinct rooms made');
      assert.equal(flat.length - made, 500 - CAP, 'the rest refused');
      for (const a of flat) if (a !== true) assert.deepEqual(a, refusal);
      // every room made is still joinable by another socket (not a new room)
      const made0 = [];
      acks.forEach((list, i) => list.forEach((a, k) => { if (a === true) made0.push(`a-${i}-${k}`); }));
      const other = await connect(srv.url, '/chat', WS);
      extra.push(other);
      const again = await joinAll(other, made0.slice(0, PER_SOCKET));
      assert.deepEqual(again, made0.slice(0, PER_SOCKET).map(() => true));
      // a new room is refused, in any namespace (the cap is server-wide) ...
      assert.deepEqual(await joinAll(other, ['brand-new']), [refusal]);
      const f = await connect(srv.url, '/features', WS);
      extra.push(f);
      assert.deepEqual(await f.timeout(5000).emitWithAck('join', 'features-new'), [f.id]);
      // ... but a socket's own id is not a new room
      const own = await connect(srv.url, '/chat', WS);
      extra.push(own);
      assert.deepEqual(await joinAll(own, [own.id]), [true]);
    } finally {
      await leave([...clients, ...extra]);
    }
  });

  test('after the clients left, every room is gone: the cap can be filled again, and only once', async () => {
    for (let round = 0; round < 2; round++) {
      const { clients, acks } = await fill(`b${round}`, 3, PER_SOCKET);
      try {
        assert.equal(acks.flat().filter((a) => a === true).length, CAP, `round ${round}: all made`);
        const probe = await connect(srv.url, '/chat', WS);
        clients.push(probe);
        assert.deepEqual(await joinAll(probe, ['one-more']), [refusal], 'and not one more');
      } finally {
        await leave(clients);
      }
    }
  });
});

describe('room memberships server-wide (max_memberships)', () => {
  let srv;
  before(async () => {
    srv = await startServer('sio-test-server', [
      '--max-memberships', '40', '--ping-interval', '2000', '--ping-timeout', '3000',
    ]);
  });
  after(async () => {
    const r = await srv.stop();
    assert.equal(r.code, 0, 'server exits cleanly (and leak-free under ASan)');
  });

  test('5 clients x 10 joins of the same rooms: 40 memberships, then refusals; leaving gives them back', async () => {
    const rooms = Array.from({ length: 10 }, (_, k) => `m-${k}`);
    const refusal = { error: ETOOBIG, message: 'Too many rooms' };
    for (let round = 0; round < 2; round++) {
      const clients = await Promise.all(Array.from({ length: 5 }, () => connect(srv.url, '/chat', WS)));
      try {
        const acks = [];
        for (const s of clients) {
          for (const r of rooms) acks.push(await s.timeout(10000).emitWithAck('join', r));
        }
        assert.equal(acks.filter((a) => a === true).length, 40, `round ${round}: 40 memberships`);
        for (const a of acks.slice(40)) assert.deepEqual(a, refusal);
      } finally {
        const ids = clients.map((s) => s.id);
        for (const s of clients) s.close();
        for (const id of ids) assert.ok(await serverReason(srv, id), `server saw ${id} leave`);
      }
    }
  });
});
