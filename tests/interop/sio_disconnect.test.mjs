// Disconnections and their reasons, on the server (recorded by the test
// server: GET /test/disconnect-reason and its stdout) and on the client
// (socket.io-client's "disconnect" reason): client and server namespace
// disconnects, with and without closing the transport, transport close,
// reconnection after the server closed the transport, ping timeout,
// "server shutting down" on SIGTERM, the connect timeout. The socket.io-client
// tests run over polling only, websocket only and the default upgrade.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Manager } from 'socket.io-client';
import { startServer } from './lib/server.mjs';
import { RAW, RawPolling } from './lib/rawsio.mjs';
import { MODES, RELAXED, once, client, connect, closeAll, serverReason, sleep, upgraded } from './lib/sio.mjs';

let srv;
before(async () => { srv = await startServer('sio-test-server', RELAXED); });
after(async () => {
  const r = await srv.stop();
  assert.equal(r.code, 0, 'server exits cleanly (and leak-free under ASan) on SIGTERM');
});

// A Manager with "/" and "/features" on one connection; resolves once both are connected.
async function pair(mode, opts = {}) {
  const m = new Manager(srv.url, { transports: mode.transports, forceNew: true, reconnection: false, reconnectionDelay: 50, reconnectionDelayMax: 100, ...opts });
  const main = m.socket('/');
  const f = m.socket('/features');
  await Promise.all([once(main, 'auth'), once(f, 'welcome')]);
  if (mode.name === 'upgrade') await upgraded(main);
  return { m, main, f, close() { m.reconnection(false); closeAll(main, f); } };
}

for (const mode of MODES) {
  describe(mode.name, () => {
    test('"client namespace disconnect": one namespace leaves, the other stays', async () => {
      const p = await pair(mode);
      try {
        const fid = p.f.id;
        p.f.disconnect();
        assert.equal(await serverReason(srv, fid), 'client namespace disconnect');
        const back = once(p.main, 'message-back');
        p.main.emit('message', 'still here');
        assert.deepEqual(await back, ['still here']);
        const mid = p.main.id;
        p.main.disconnect();
        assert.equal(await serverReason(srv, mid), 'client namespace disconnect');
      } finally { p.close(); }
    });

    test('"server namespace disconnect": the client sees "io server disconnect" and does not reconnect', async () => {
      const p = await pair(mode, { reconnection: true });
      try {
        const fid = p.f.id;
        const gone = once(p.f, 'disconnect');
        p.f.emit('disconnect_me', false);
        assert.deepEqual(await gone, ['io server disconnect', undefined]);
        assert.equal(await serverReason(srv, fid), 'server namespace disconnect');
        await sleep(300);
        assert.equal(p.f.connected, false, 'no automatic reconnection');
        assert.ok(p.main.connected, 'the other namespace of the connection stays');
        assert.equal(await p.main.emitWithAck('message-with-ack', 5), 5);
        // the application may connect again
        const again = once(p.f, 'welcome');
        p.f.connect();
        const [w] = await again;
        assert.notEqual(w.id, fid, 'a new socket id');
      } finally { p.close(); }
    });

    test('server disconnect with the transport: every namespace gets "io server disconnect"', async () => {
      const p = await pair(mode, { reconnection: true });
      try {
        const ids = [p.main.id, p.f.id];
        const gone = Promise.all([once(p.main, 'disconnect'), once(p.f, 'disconnect')]);
        const closed = once(p.m, 'close');
        p.f.emit('disconnect_me', true);
        const reasons = (await gone).map((r) => r[0]);
        assert.deepEqual(reasons, ['io server disconnect', 'io server disconnect']);
        await closed;
        for (const id of ids) assert.equal(await serverReason(srv, id), 'server namespace disconnect');
        await sleep(300);
        assert.equal(p.main.connected || p.f.connected, false, 'no automatic reconnection');
      } finally { p.close(); }
    });

    test('"transport close": the client closes its Engine.IO connection', async () => {
      const p = await pair(mode);
      try {
        const ids = [p.main.id, p.f.id];
        const gone = once(p.main, 'disconnect');
        p.m.engine.close();
        assert.equal((await gone)[0], 'forced close', 'the client\'s own reason');
        for (const id of ids) assert.equal(await serverReason(srv, id), 'transport close');
      } finally { p.close(); }
    });

    test('the server closes the transport: the client sees "transport close" and reconnects', async () => {
      const p = await pair(mode, { reconnection: true });
      try {
        const ids = [p.main.id, p.f.id];
        const gone = Promise.all([once(p.main, 'disconnect'), once(p.f, 'disconnect')]);
        const back = Promise.all([once(p.main, 'auth', 10000), once(p.f, 'welcome', 10000)]);
        p.f.emit('close_transport');
        for (const [reason] of await gone) assert.equal(reason, 'transport close');
        // server side: the application closed the session under the sockets
        for (const id of ids) assert.equal(await serverReason(srv, id), 'server namespace disconnect');
        await back;
        assert.ok(p.main.connected && p.f.connected, 'both namespaces reconnected');
        assert.ok(!ids.includes(p.main.id) && !ids.includes(p.f.id), 'with new socket ids');
        assert.deepEqual(await p.f.emitWithAck('rooms'), [p.f.id], 'and fresh rooms');
        assert.equal(await p.main.emitWithAck('message-with-ack', 'after'), 'after');
      } finally { p.close(); }
    });

    test('reconnection keeps working after several transport losses', async () => {
      const s = await connect(srv.url, '/features', mode, { reconnection: true });
      try {
        for (let i = 0; i < 3; i++) {
          const back = once(s, 'welcome', 10000);
          s.emit('close_transport');
          await back;
          const seen = await s.emitWithAck('transport');
          if (mode.name === 'upgrade') assert.match(seen, /^(polling|websocket)$/);
          else assert.equal(seen, mode.transports[0]);
        }
      } finally { closeAll(s); }
    });
  });
}

describe('raw clients', () => {
  let hb; // a short heartbeat: 200 + 200 ms
  before(async () => { hb = await startServer('sio-test-server', ['--ping-interval', '200', '--ping-timeout', '200']); });
  after(async () => {
    const r = await hb.stop();
    assert.equal(r.code, 0);
  });

  for (const t of RAW) {
    test(`${t.name}: "ping timeout" when the client stops answering pings`, async () => {
      const c = await t.open(hb.url, { autoPong: false });
      try {
        await c.send('40/features,');
        let sid;
        while (!sid) {
          const p = await c.next();
          const m = /^40\/features,\{"sid":"([^"]+)"\}$/.exec(p);
          if (m) sid = m[1];
        }
        const t0 = Date.now();
        assert.equal(await serverReason(hb, sid, 5000), 'ping timeout');
        assert.ok(Date.now() - t0 < 3000, 'within pingInterval + pingTimeout (200 + 200 ms), give or take');
      } finally { c.close(); }
    });
  }

  test('polling: a second concurrent GET is a "transport error"', async () => {
    const c = await RawPolling.open(srv.url);
    try {
      await c.send('40');
      const [, sid] = /"sid":"([^"]+)"/.exec(await c.next());
      assert.equal(await c.next(), '42["auth",{}]');
      const first = c.next(3000).catch(() => null);
      await sleep(50);
      const r = await fetch(c.url);
      assert.equal(r.status, 400);
      await first;
      assert.equal(await serverReason(srv, sid), 'transport error');
    } finally { c.close(); }
  });
});

describe('server shutdown', () => {
  test('SIGTERM: every socket leaves with "server shutting down", clients see the transport go, exit code 0', async () => {
    const own = await startServer('sio-test-server', RELAXED);
    const sockets = [];
    try {
      for (const mode of MODES) {
        sockets.push(await connect(own.url, '/', mode));
        sockets.push(await connect(own.url, '/features', mode));
      }
      const ids = sockets.map((s) => s.id);
      const gone = Promise.all(sockets.map((s) => once(s, 'disconnect', 10000)));
      const r = await own.stop();
      assert.equal(r.code, 0, 'clean exit with connected clients');
      for (const [reason] of await gone) assert.match(reason, /^transport (close|error)$/);
      const out = own.stdout();
      for (const id of ids) assert.match(out, new RegExp(`^disconnect /(features)? ${id} server shutting down$`, 'm'));
    } finally { closeAll(sockets); if (own.child.exitCode === null) await own.stop(); }
  });

  test('SIGTERM with a client half-way (async middleware, pending acks, a drained polling session)', async () => {
    const own = await startServer('sio-test-server', RELAXED);
    const sockets = [];
    try {
      const slow = client(own.url, '/features', MODES[0], { auth: { token: 'slow' } });
      sockets.push(slow);
      const s = await connect(own.url, '/features', MODES[1]);
      sockets.push(s);
      s.on('never', () => {});
      s.emit('ask', 'never', 0, () => {});
      const raw = await RawPolling.open(own.url);
      await raw.send('40/features,', '42/features,["disconnect_me",true]'); // drains, nobody polls
      await sleep(30);
      const r = await own.stop();
      assert.equal(r.code, 0, 'clean exit (no leak) with work in flight');
      raw.close();
    } finally { closeAll(sockets); if (own.child.exitCode === null) await own.stop(); }
  });
});

describe('shutdown from inside a close', () => {
  for (const t of RAW) {
    test(`${t.name}: the server closes a session with output queued and a disconnect handler shuts the server down`, async () => {
      const own = await startServer('sio-test-server', RELAXED);
      const c = await t.open(own.url);
      try {
        await c.send('40/features,');
        assert.match(await c.next(), /^40\/features,/);
        // (polling: no GET waits, "bye" is queued, the session would drain into the next GET)
        // (not awaited: a server stuck in the close would never answer the POST)
        c.send('42/features,["close_transport",{"bye":true,"shutdown":true}]').catch(() => {});
        const exited = await Promise.race([own.exited, sleep(10000).then(() => null)]);
        assert.ok(exited, 'the server finished its shutdown');
        assert.equal(exited.code, 0);
        assert.match(own.stdout(), /^disconnect \/features \S+ server namespace disconnect$/m);
      } finally { c.close(); if (own.child.exitCode === null) await own.stop({ signal: 'SIGKILL' }); }
    });
  }
});

describe('connect timeout', () => {
  let cs;
  before(async () => { cs = await startServer('sio-test-server', ['--connect-timeout', '400', '--ping-interval', '5000', '--ping-timeout', '5000']); });
  after(async () => {
    const r = await cs.stop();
    assert.equal(r.code, 0);
  });

  for (const t of RAW) {
    test(`${t.name}: a session that joins no namespace is closed after --connect-timeout`, async () => {
      const t0 = Date.now();
      const c = await t.open(cs.url);
      try {
        const how = await c.closed(5000);
        const dt = Date.now() - t0;
        assert.ok(dt >= 350 && dt < 3000, `closed after ${dt} ms (${how})`);
        if (t.name === 'polling') {
          const r = await fetch(c.url);
          assert.equal(r.status, 400, 'the session is gone');
        }
      } finally { c.close(); }
    });

    test(`${t.name}: a session that joins in time stays`, async () => {
      const c = await t.open(cs.url);
      try {
        await sleep(100);
        await c.send('40');
        assert.match(await c.next(), /^40\{"sid":/);
        assert.equal(await c.next(), '42["auth",{}]');
        await sleep(700);
        await c.send('42["message","alive"]');
        assert.equal(await c.next(), '42["message-back","alive"]');
      } finally { c.close(); }
    });
  }

  test('a session whose only CONNECT was refused is still closed after the timeout', async () => {
    const c = await RawPolling.open(cs.url);
    try {
      await c.send('40/features,{"token":"bad"}');
      assert.match(await c.next(), /^44\/features,/);
      assert.ok(await c.closed(3000));
    } finally { c.close(); }
  });
});
