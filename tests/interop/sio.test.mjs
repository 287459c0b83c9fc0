// The Socket.IO v5 server with the official client (socket.io-client 4.x):
// connection, auth, namespaces, middlewares, dynamic namespaces, events with
// every kind of argument (unicode, nested, binary anywhere), acknowledgements
// both ways, the catch-all handler, large payloads. Every feature runs over
// polling only, websocket only and the default upgrade. The server is
// tests/helpers/sio_test_server (see its header for the events).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Manager } from 'socket.io-client';
import { startServer } from './lib/server.mjs';
import { MODES, RELAXED, once, collect, record, client, connect, closeAll, sleep, serverReason } from './lib/sio.mjs';

let srv;

before(async () => { srv = await startServer('sio-test-server', RELAXED); });

after(async () => {
  const r = await srv.stop();
  assert.equal(r.code, 0, 'server exits cleanly (and leak-free under ASan) on SIGTERM');
});

// ArrayBuffers and typed arrays as Buffers, recursively, to compare what came back.
function norm(v) {
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (Array.isArray(v)) return v.map(norm);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]));
  return v;
}

// Emits with an acknowledgement and resolves with every argument of the answer.
function ack(s, event, ...args) {
  return new Promise((resolve, reject) => {
    s.timeout(5000).emit(event, ...args, (err, ...res) => (err ? reject(err) : resolve(res)));
  });
}

const UNICODE = 'héllo wörld ✓ — 日本語 😀🎉 \u2028\u2029 "quotes" \\ \n\t\r \u0001 \u0000 end';

function nested(depth) {
  let v = { leaf: [1, 'two', null, true, UNICODE] };
  for (let i = 0; i < depth; i++) v = { level: i, child: v, list: [i, { i }] };
  return v;
}

const BIN = (n, seed = 1) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));

for (const mode of MODES) {
  describe(`${mode.name}`, () => {
    test('connect to "/" and "/custom" over one connection; the "auth" event echoes the auth payload', async () => {
      const m = new Manager(srv.url, { transports: mode.transports, reconnection: false, forceNew: true });
      const main = m.socket('/', { auth: { token: 'abc', n: 1, nested: { u: UNICODE } } });
      const custom = m.socket('/custom', { auth: { user: 'ü', list: [1, 2] } });
      const none = m.socket('/custom');
      try {
        const [[a1], [a2]] = await Promise.all([once(main, 'auth'), once(custom, 'auth')]);
        assert.deepEqual(a1, { token: 'abc', n: 1, nested: { u: UNICODE } });
        assert.deepEqual(a2, { user: 'ü', list: [1, 2] });
        assert.ok(main.connected && custom.connected);
        assert.equal(main.io, custom.io, 'the namespaces share the Manager');
        assert.notEqual(main.id, custom.id, 'one socket id per namespace');
        assert.match(main.id, /^[A-Za-z0-9_-]{20}$/);
        // the socket id is not the Engine.IO session id
        assert.notEqual(main.id, m.engine.id);
        closeAll(none);
      } finally { closeAll(main, custom, none); }
      // a socket without auth gets {} (the reference sends the empty object)
      const bare = client(srv.url, '/', mode);
      try {
        const [a] = await once(bare, 'auth');
        assert.deepEqual(a, {});
      } finally { closeAll(bare); }
    });

    test('"message" comes back as "message-back" with mixed, nested and unicode arguments', async () => {
      const s = await connect(srv.url, '/', mode);
      try {
        const args = [1, 'two', [3, { four: [5, 6.5] }], null, true, false, -0.25, 1e21, UNICODE, nested(30), {}, []];
        const back = once(s, 'message-back');
        s.emit('message', ...args);
        assert.deepEqual(await back, JSON.parse(JSON.stringify(args)));
        // an event with no argument at all
        const empty = once(s, 'message-back');
        s.emit('message');
        assert.deepEqual(await empty, []);
        // many in a row keep their order
        const many = collect(s, 'message-back', 200);
        for (let i = 0; i < 200; i++) s.emit('message', i, `m${i}`);
        const got = await many;
        assert.deepEqual(got.map((a) => a[0]), Array.from({ length: 200 }, (_, i) => i));
      } finally { closeAll(s); }
    });

    test('binary arguments at every position, in both directions', async () => {
      const s = await connect(srv.url, '/', mode);
      try {
        const cases = [
          [BIN(4)],
          [BIN(3), 'after'],
          ['before', BIN(5, 7), 'after', 2],
          [{ a: BIN(16), b: [1, { c: BIN(2, 9) }] }, 'x'],
          [[BIN(1), BIN(0), BIN(300, 3)], { deep: nested(3), bin: BIN(10) }],
          [BIN(65536, 5), UNICODE, BIN(1)],
        ];
        for (const args of cases) {
          const back = once(s, 'message-back');
          s.emit('message', ...args);
          assert.deepEqual(norm(await back), args);
        }
        // the acknowledgement carries them back too (BINARY_ACK)
        const res = await ack(s, 'message-with-ack', 'x', BIN(8), { k: BIN(3) });
        assert.deepEqual(norm(res), ['x', BIN(8), { k: BIN(3) }]);
      } finally { closeAll(s); }
    });

    test('"message-with-ack": emitWithAck and callbacks with several arguments', async () => {
      const s = await connect(srv.url, '/', mode);
      try {
        assert.equal(await s.emitWithAck('message-with-ack', 'first', 2), 'first');
        assert.deepEqual(await ack(s, 'message-with-ack', 1, '2', [3], { four: 4 }, UNICODE), [1, '2', [3], { four: 4 }, UNICODE]);
        assert.deepEqual(await ack(s, 'message-with-ack'), [], 'an empty acknowledgement');
        // concurrent acknowledgements resolve each to its own answer
        const all = await Promise.all(Array.from({ length: 50 }, (_, i) => s.emitWithAck('message-with-ack', i)));
        assert.deepEqual(all, Array.from({ length: 50 }, (_, i) => i));
        // an event without a handler is never acknowledged: the client times out
        await assert.rejects(s.timeout(200).emitWithAck('no-such-event', 1), /operation has timed out/);
        assert.ok(s.connected, 'an unknown event is ignored, not an error');
      } finally { closeAll(s); }
    });

    test('an unknown namespace is refused with "Invalid namespace"; the connection serves others', async () => {
      const m = new Manager(srv.url, { transports: mode.transports, reconnection: false, forceNew: true });
      const bad = m.socket('/nope');
      const good = m.socket('/custom');
      try {
        const [[err]] = await Promise.all([once(bad, 'connect_error'), once(good, 'auth')]);
        assert.equal(err.message, 'Invalid namespace');
        assert.equal(bad.connected, false);
        assert.ok(good.connected, 'the other namespace on the same connection works');
        // a dynamic family's parent label is not a namespace either
        const parent = m.socket('/dyn-*');
        const [e2] = await once(parent, 'connect_error');
        assert.equal(e2.message, 'Invalid namespace');
        parent.close();
      } finally { closeAll(bad, good); }
    });

    test('middlewares: rejection with message and data, rejection by the second one, asynchronous acceptance', async () => {
      const bad = client(srv.url, '/features', mode, { auth: { token: 'bad' } });
      try {
        const [err] = await once(bad, 'connect_error');
        assert.equal(err.message, 'not authorized');
        assert.deepEqual(err.data, { reason: 'token' });
        assert.equal(bad.connected, false);
      } finally { closeAll(bad); }
      const late = client(srv.url, '/features', mode, { auth: { token: 'late' } });
      try {
        const [err] = await once(late, 'connect_error');
        assert.equal(err.message, 'refused late');
        assert.equal(err.data, undefined);
      } finally { closeAll(late); }
      const t0 = Date.now();
      const slow = client(srv.url, '/features', mode, { auth: { token: 'slow' } });
      try {
        const [w] = await once(slow, 'welcome');
        assert.ok(Date.now() - t0 >= 90, 'accepted after the middleware timer');
        assert.equal(w.id, slow.id);
        assert.deepEqual(w.auth, { token: 'slow' });
        const seen = await slow.emitWithAck('transport');
        if (mode.name === 'upgrade') assert.match(seen, /^(polling|websocket)$/);
        else assert.equal(seen, mode.transports[0]);
      } finally { closeAll(slow); }
      // a refused namespace leaves the connection usable for the next attempt on the same Manager
      const m = new Manager(srv.url, { transports: mode.transports, reconnection: false, forceNew: true });
      const r1 = m.socket('/features', { auth: { token: 'bad' } });
      try {
        await once(r1, 'connect_error');
        const r2 = m.socket('/features', { auth: { token: 'fine' } });
        r1.auth = { token: 'fine' };
        const [w] = await once(r2, 'welcome');
        assert.deepEqual(w.auth, { token: 'fine' });
        r2.close();
      } finally { closeAll(r1); m.engine?.close(); }
    });

    test('a client that leaves while its asynchronous middleware runs is dropped cleanly', async () => {
      const s = client(srv.url, '/features', mode, { auth: { token: 'slow' } });
      s.io.on('open', () => setTimeout(() => s.io.engine.close(), 20));
      await once(s.io, 'close');
      await sleep(200); // the middleware's timer fires for a socket that is gone
      const ok = await connect(srv.url, '/features', mode);
      closeAll(ok);
    });

    test('dynamic namespaces: /dyn-<digits> are created on demand and told their name', async () => {
      const m = new Manager(srv.url, { transports: mode.transports, reconnection: false, forceNew: true });
      const d1 = m.socket('/dyn-1');
      const d2 = m.socket('/dyn-2024');
      const bad = m.socket('/dyn-x1');
      try {
        const [[n1], [n2], [err]] = await Promise.all([once(d1, 'nsp'), once(d2, 'nsp'), once(bad, 'connect_error')]);
        assert.equal(n1, '/dyn-1');
        assert.equal(n2, '/dyn-2024');
        assert.equal(err.message, 'Invalid namespace');
        assert.equal(await d1.emitWithAck('whoami'), '/dyn-1');
        assert.equal(await d2.emitWithAck('whoami'), '/dyn-2024');
        // a second client reaches the same (now existing) dynamic namespace
        const other = await connect(srv.url, '/dyn-1', mode);
        assert.equal(await other.emitWithAck('whoami'), '/dyn-1');
        const sid = other.id;
        other.close();
        assert.equal(await serverReason(srv, sid), 'client namespace disconnect', 'the family\'s disconnect handler runs');
      } finally { closeAll(d1, d2, bad); }
    });

    test('server → client acknowledgements: answered, without timeout, timed out, late answers ignored', async () => {
      const s = await connect(srv.url, '/features', mode);
      try {
        s.on('question', (a, b, cb) => cb(`answer to ${a}`, b * 2, { bin: BIN(4) }));
        let r = await s.emitWithAck('ask', 'question', 1000, 'life', 21);
        assert.equal(r.err, null);
        assert.deepEqual(norm(r.args), ['answer to life', 42, { bin: BIN(4) }]);
        // timeout 0: the server waits as long as it takes
        s.on('slow-question', (cb) => setTimeout(() => cb('eventually'), 150));
        r = await s.emitWithAck('ask', 'slow-question', 0);
        assert.deepEqual(r, { err: null, args: ['eventually'] });
        // no answer in time: the server's callback gets the timeout
        s.on('ignored', () => {});
        const t0 = Date.now();
        r = await s.emitWithAck('ask', 'ignored', 150);
        assert.equal(r.err, 'timeout');
        assert.ok(Date.now() - t0 >= 140);
        // an answer after the timeout is ignored by the server
        s.on('too-late', (cb) => setTimeout(() => cb('late'), 300));
        r = await s.emitWithAck('ask', 'too-late', 100);
        assert.equal(r.err, 'timeout');
        await sleep(300);
        assert.ok(s.connected, 'a late ACK does not break the connection');
        // binary sent by the server in the event, answered with binary (BINARY_ACK from the client)
        s.on('bin', (b, cb) => cb(Buffer.concat([norm(b), Buffer.from([0xff])])));
        r = await s.emitWithAck('ask', 'bin', 1000, BIN(100));
        assert.deepEqual(norm(r.args), [Buffer.concat([BIN(100), Buffer.from([0xff])])]);
        // many at once, answered out of order
        s.on('delayed', (i, cb) => setTimeout(() => cb(i), (20 - i) * 5));
        const all = await Promise.all(Array.from({ length: 20 }, (_, i) => s.emitWithAck('ask', 'delayed', 2000, i)));
        assert.deepEqual(all.map((x) => x.args[0]), Array.from({ length: 20 }, (_, i) => i));
      } finally { closeAll(s); }
    });

    test('a pending server → client acknowledgement is released when the client leaves', async () => {
      const s = await connect(srv.url, '/features', mode);
      s.on('never', () => {});
      s.emit('ask', 'never', 0, 'x', () => {});
      await sleep(50);
      const sid = s.id;
      s.close();
      assert.equal(await serverReason(srv, sid), 'client namespace disconnect');
      // (the server's exit code at the end checks that nothing leaked)
    });

    test('catch-all handler: events without a handler of their own', async () => {
      const s = await connect(srv.url, '/features', mode);
      try {
        const any = once(s, 'any');
        s.emit('something-else', 1, { two: [2] }, BIN(3));
        assert.deepEqual(norm(await any), ['something-else', 1, { two: [2] }, BIN(3)]);
        assert.equal(await s.emitWithAck('with-ack', 'x'), 'with-ack');
        assert.equal(await s.emitWithAck(UNICODE.slice(0, 20)), UNICODE.slice(0, 20), 'a unicode event name');
      } finally { closeAll(s); }
    });

    test('events right after connecting, while the transport upgrades', async () => {
      const s = client(srv.url, '/', mode);
      try {
        await once(s, 'connect');
        const got = collect(s, 'message-back', 50);
        for (let i = 0; i < 50; i++) s.emit('message', i, i % 5 === 0 ? BIN(i + 1) : `t${i}`);
        const res = await got;
        assert.deepEqual(res.map((a) => a[0]), Array.from({ length: 50 }, (_, i) => i));
        assert.deepEqual(norm(res[10][1]), BIN(11));
      } finally { closeAll(s); }
    });
  });
}

describe('large payloads', () => {
  let big;
  // (a polling client's pong waits behind a 1 MB POST: a heartbeat that allows for it)
  before(async () => {
    big = await startServer('sio-test-server', ['--max-http-buffer-size', '2500000', '--ping-interval', '2000', '--ping-timeout', '5000']);
  });
  after(async () => {
    const r = await big.stop();
    assert.equal(r.code, 0);
  });

  for (const mode of MODES) {
    test(`${mode.name}: 1 MB text and binary both ways; over maxHttpBufferSize the client is cut off`, async () => {
      const s = await connect(big.url, '/', mode);
      try {
        const text = 'é'.repeat(1 << 19) + 'x'.repeat(1000); // 1 MB + of UTF-8
        let back = once(s, 'message-back', 20000);
        s.emit('message', text);
        assert.equal((await back)[0], text);
        const bin = BIN(1 << 20, 3);
        back = once(s, 'message-back', 20000);
        s.emit('message', 'bin', bin);
        const [, b] = await back;
        assert.ok(norm(b).equals(bin));
        assert.equal(norm(await ack(s, 'message-with-ack', bin))[0].length, 1 << 20);
        // 3 MB is over the 2.5 MB limit: the server drops the connection
        const sid = s.id;
        const gone = once(s, 'disconnect', 20000);
        s.emit('message', 'y'.repeat(3000000));
        const [reason] = await gone;
        assert.match(reason, /^transport (close|error)$/);
        assert.match(await serverReason(big, sid), /^transport (close|error)$/);
      } finally { closeAll(s); }
    });
  }
});
