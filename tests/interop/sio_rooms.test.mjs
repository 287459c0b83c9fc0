// Rooms and broadcasting with the official client: join/leave, every
// broadcast operator (to several rooms, except, socket.broadcast, volatile,
// local, compress, timeout with acknowledgements from many clients),
// fetchSockets, socketsJoin, socketsLeave, disconnectSockets. Every test runs
// over polling only, websocket only and the default upgrade. "Received
// nothing" is checked without sleeping: a sentinel broadcast is sent to every
// client afterwards, and a client's packets arrive in order.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Manager } from 'socket.io-client';
import { startServer } from './lib/server.mjs';
import { MODES, RELAXED, once, collect, record, connect, closeAll, serverReason, sleep } from './lib/sio.mjs';

let srv;
before(async () => { srv = await startServer('sio-test-server', RELAXED); });
after(async () => {
  const r = await srv.stop();
  assert.equal(r.code, 0, 'server exits cleanly (and leak-free under ASan) on SIGTERM');
});

const toBuf = (v) => (v instanceof ArrayBuffer ? Buffer.from(v) : Buffer.from(v.buffer, v.byteOffset, v.byteLength));

// n clients of /features named A, B, C...
async function group(mode, n) {
  const names = 'ABCDEFGH'.slice(0, n).split('');
  const sockets = await Promise.all(names.map((name) => connect(srv.url, '/features', mode, { auth: { name } })));
  return sockets;
}

// Broadcasts a sentinel to every client given and waits until each has it.
async function settle(sender, clients) {
  const waits = clients.map((c) => once(c, 'sentinel'));
  const [n] = await sender.emitWithAck('broadcast', { to: clients.map((c) => c.id) }, 'sentinel');
  assert.equal(n, clients.length);
  await Promise.all(waits);
}

for (const mode of MODES) {
  const room = (name) => `${mode.name}:${name}`;

  describe(mode.name, () => {
    test('join, leave, rooms: the own id is the first room', async () => {
      const [a] = await group(mode, 1);
      try {
        assert.deepEqual(await a.emitWithAck('rooms'), [a.id]);
        assert.deepEqual(await a.emitWithAck('join', room('x')), [a.id, room('x')]);
        const rooms = await a.emitWithAck('join', [room('y'), room('z'), room('x'), 'ü ✓']);
        assert.equal(rooms[0], a.id);
        assert.deepEqual(rooms.slice(1).sort(), [room('x'), room('y'), room('z'), 'ü ✓'].sort(), 'joining twice is one membership');
        const left = await a.emitWithAck('leave', room('y'));
        assert.deepEqual(left.slice(1).sort(), [room('x'), room('z'), 'ü ✓'].sort());
        assert.deepEqual((await a.emitWithAck('leave', 'not-a-member')).length, 4, 'leaving a room one is not in is a no-op');
        assert.deepEqual(await a.emitWithAck('join', a.id), (await a.emitWithAck('rooms')), 'joining the own id changes nothing');
      } finally { closeAll(a); }
    });

    test('/chat: join + to_room reaches the room only; msg_to_server reaches everyone', async () => {
      const opts = { transports: mode.transports };
      const [a, b, c] = await Promise.all([0, 1, 2].map(() => connect(srv.url, '/chat', mode, opts)));
      try {
        const r = room('chat');
        assert.equal(await a.emitWithAck('join', r), true);
        assert.equal(await b.emitWithAck('join', r), true);
        const cGot = record(c, 'room_msg');
        const got = Promise.all([once(a, 'room_msg'), once(b, 'room_msg')]);
        c.emit('to_room', r, { text: 'hi ✓', n: [1] });
        assert.deepEqual(await got, [[{ text: 'hi ✓', n: [1] }], [{ text: 'hi ✓', n: [1] }]]);
        const all = Promise.all([a, b, c].map((s) => once(s, 'msg_to_client')));
        a.emit('msg_to_server', { from: 'a' });
        for (const [m] of await all) assert.deepEqual(m, { from: 'a' });
        assert.equal(cGot.length, 0, 'the socket outside the room got nothing');
        assert.deepEqual(await c.emitWithAck('echo', 1, 'two'), 1);
      } finally { closeAll(a, b, c); }
    });

    test('broadcast to the namespace, and socket.broadcast (everyone but the sender)', async () => {
      const all = await group(mode, 3);
      const [a, b, c] = all;
      try {
        const got = Promise.all(all.map((s) => once(s, 'news')));
        const [counts] = await Promise.all([a.emitWithAck('broadcast', {}, 'news', 1, { two: 2 }), got]);
        assert.ok(counts[0] >= 3, 'at least our three sockets');
        for (const [x, y] of await got) assert.deepEqual([x, y], [1, { two: 2 }]);
        const aGot = record(a, 'news2');
        const others = Promise.all([b, c].map((s) => once(s, 'news2')));
        const [n] = await a.emitWithAck('broadcast', { broadcast: true, to: all.map((s) => s.id) }, 'news2', 'x');
        assert.equal(n, 2);
        await others;
        await settle(a, all);
        assert.equal(aGot.length, 0, 'the sender is left out');
      } finally { closeAll(all); }
    });

    test('to several rooms: their union, each socket once; a socket id is a room', async () => {
      const all = await group(mode, 4);
      const [a, b, c, d] = all;
      try {
        await a.emitWithAck('join', room('r1'));
        await b.emitWithAck('join', room('r2'));
        await c.emitWithAck('join', [room('r1'), room('r2')]);
        const recs = all.map((s) => record(s, 'multi'));
        const [[n]] = await Promise.all([
          d.emitWithAck('broadcast', { to: [room('r1'), room('r2'), room('nobody')] }, 'multi', 'hello'),
        ]);
        assert.equal(n, 3, 'A, B and C (C once)');
        await settle(d, all);
        assert.deepEqual(recs.map((r) => r.length), [1, 1, 1, 0]);
        assert.deepEqual(recs[2][0], ['hello']);
        // a socket id as a room, mixed with a room
        const recs2 = all.map((s) => record(s, 'direct'));
        const [n2] = await a.emitWithAck('broadcast', { to: [d.id, room('r2')] }, 'direct');
        assert.equal(n2, 3, 'D, B and C');
        await settle(a, all);
        assert.deepEqual(recs2.map((r) => r.length), [0, 1, 1, 1]);
      } finally { closeAll(all); }
    });

    test('except: rooms and socket ids left out, with and without to', async () => {
      const all = await group(mode, 4);
      const [a, b, c, d] = all;
      try {
        await a.emitWithAck('join', room('e1'));
        await b.emitWithAck('join', room('e2'));
        await c.emitWithAck('join', [room('e1'), room('e2')]);
        const ids = all.map((s) => s.id);
        const cases = [
          [{ to: [room('e1')], except: [room('e2')] }, [1, 0, 0, 0]],
          [{ to: ids, except: [room('e1')] }, [0, 1, 0, 1]],
          [{ to: [room('e1'), room('e2')], except: [c.id] }, [1, 1, 0, 0]],
          [{ to: ids, except: [a.id, d.id, room('none')] }, [0, 1, 1, 0]],
          [{ to: ids, except: [room('e1'), room('e2')] }, [0, 0, 0, 1]],
        ];
        for (const [spec, expected] of cases) {
          const recs = all.map((s) => record(s, 'ex'));
          const [n] = await d.emitWithAck('broadcast', spec, 'ex');
          assert.equal(n, expected.reduce((x, y) => x + y), JSON.stringify(spec));
          await settle(d, all);
          assert.deepEqual(recs.map((r) => r.length), expected, JSON.stringify(spec));
          for (const s of all) s.off('ex');
        }
      } finally { closeAll(all); }
    });

    test('volatile: delivered to an idle socket, dropped while a socket has output waiting', async () => {
      const [a, b] = await group(mode, 2);
      try {
        // (an idle socket may still have a heartbeat frame in flight: a few tries)
        const bGot = record(b, 'vol');
        let n = 0;
        for (let i = 0; i < 5 && n === 0; i++) {
          if (i) await sleep(50);
          [n] = await a.emitWithAck('broadcast', { to: [b.id], volatile: true }, 'vol', i);
        }
        assert.equal(n, 1, 'a volatile packet reaches a socket with nothing waiting');
        await settle(a, [a, b]);
        assert.equal(bGot.length, 1);
        // five in a row from one handler: the first is still queued when the next come
        const recs = record(b, 'burst');
        const counts = await a.emitWithAck('broadcast', { to: [b.id], volatile: true, repeat: 5 }, 'burst');
        assert.ok(counts[0] <= 1 && counts.slice(1).every((x) => x === 0), `counts ${counts}`);
        // the same without volatile: all five
        const plain = collect(b, 'plain', 5);
        const counts2 = await a.emitWithAck('broadcast', { to: [b.id], repeat: 5 }, 'plain');
        assert.deepEqual(counts2, [1, 1, 1, 1, 1]);
        await plain;
        await settle(a, [a, b]);
        assert.equal(recs.length, counts[0], 'what was counted is what arrived');
      } finally { closeAll(a, b); }
    });

    test('local and compress: delivered as usual (one process, one adapter)', async () => {
      const all = await group(mode, 3);
      try {
        const ids = all.map((s) => s.id);
        for (const flags of [{ local: true }, { compress: false }, { compress: true }, { local: true, compress: false }]) {
          const got = Promise.all(all.map((s) => once(s, 'flagged')));
          const [n] = await all[0].emitWithAck('broadcast', { to: ids, ...flags }, 'flagged', flags);
          assert.equal(n, 3, JSON.stringify(flags));
          for (const [f] of await got) assert.deepEqual(f, flags);
        }
      } finally { closeAll(all); }
    });

    test('binary in broadcasts: one encoding, the same attachments for every recipient', async () => {
      const all = await group(mode, 3);
      try {
        await Promise.all(all.map((s) => s.emitWithAck('join', room('bin'))));
        const payload = Buffer.from(Array.from({ length: 5000 }, (_, i) => i & 0xff));
        const got = Promise.all(all.map((s) => once(s, 'blob')));
        const [n] = await all[1].emitWithAck('broadcast', { to: [room('bin')] }, 'blob', 'head', payload, { nested: [Buffer.from([7])] });
        assert.equal(n, 3);
        for (const [head, bin, obj] of await got) {
          assert.equal(head, 'head');
          assert.ok(toBuf(bin).equals(payload));
          assert.deepEqual([...toBuf(obj.nested[0])], [7]);
        }
      } finally { closeAll(all); }
    });

    test('broadcast with acknowledgements: every answer, a timeout with the answers so far, nobody to ask', async () => {
      const all = await group(mode, 4);
      const [a, b, c, d] = all;
      try {
        for (const s of [a, b, c]) s.on('poll', (q, cb) => cb(s.id, q));
        d.on('poll', () => {}); // never answers
        await Promise.all([a, b, c].map((s) => s.emitWithAck('join', room('voters'))));
        let r = await d.emitWithAck('broadcast_with_ack', { to: [room('voters')], timeout: 2000 }, 'poll', 'q1');
        assert.equal(r.err, null);
        assert.deepEqual(r.responses.map((x) => x[0]).sort(), [a.id, b.id, c.id].sort());
        assert.ok(r.responses.every((x) => x[1] === 'q1'));
        // D joins: it never answers, so the timeout ends it with the three answers
        await d.emitWithAck('join', room('voters'));
        const t0 = Date.now();
        r = await a.emitWithAck('broadcast_with_ack', { to: [room('voters')], timeout: 300 }, 'poll', 'q2');
        assert.equal(r.err, 'timeout');
        assert.ok(Date.now() - t0 >= 290);
        assert.deepEqual(r.responses.map((x) => x[0]).sort(), [a.id, b.id, c.id].sort());
        // no recipient at all: answered at once, no error
        r = await a.emitWithAck('broadcast_with_ack', { to: [room('empty')], timeout: 300 }, 'poll');
        assert.deepEqual(r, { err: null, responses: [] });
        // socket.broadcast with acks, binary answers
        for (const s of all) s.off('poll');
        for (const s of all) s.on('bin-poll', (cb) => cb(Buffer.from(s.id)));
        r = await a.emitWithAck('broadcast_with_ack', { broadcast: true, to: all.map((s) => s.id), timeout: 2000 }, 'bin-poll');
        assert.equal(r.err, null);
        assert.deepEqual(r.responses.map((x) => toBuf(x[0]).toString()).sort(), [b.id, c.id, d.id].sort());
      } finally { closeAll(all); }
    });

    test('broadcast with acknowledgements and no timeout: a recipient that leaves counts as answered', async () => {
      const all = await group(mode, 3);
      const [a, b, c] = all;
      try {
        a.on('slowpoll', (cb) => cb('a'));
        b.on('slowpoll', (cb) => cb('b'));
        c.on('slowpoll', () => setTimeout(() => c.disconnect(), 50));
        const r = await a.emitWithAck('broadcast_with_ack', { to: all.map((s) => s.id) }, 'slowpoll');
        assert.equal(r.err, null);
        assert.deepEqual(r.responses.map((x) => x[0]).sort(), ['a', 'b']);
      } finally { closeAll(all); }
    });

    test('broadcast with acknowledgements of a reserved event name fails once, cleanly', async () => {
      const all = await group(mode, 2);
      try {
        const r = await all[0].emitWithAck('broadcast_with_ack', { to: all.map((s) => s.id), timeout: 200 }, 'disconnect');
        assert.ok(r.err && r.err !== 'timeout', `an error: ${JSON.stringify(r)}`);
        // nothing else comes back later (no second answer, no crash)
        const got = record(all[0], 'any');
        await new Promise((res) => setTimeout(res, 300));
        assert.equal(await all[0].emitWithAck('rooms').then((x) => x[0]), all[0].id);
        assert.equal(got.length, 0);
      } finally { closeAll(all); }
    });

    test('fetchSockets: ids, rooms and auth of the matching sockets', async () => {
      const all = await group(mode, 3);
      const [a, b, c] = all;
      try {
        await a.emitWithAck('join', [room('f1'), room('f2')]);
        await b.emitWithAck('join', room('f2'));
        let list = await c.emitWithAck('fetch_sockets', { to: [room('f2')] });
        list.sort((x, y) => x.auth.name.localeCompare(y.auth.name));
        assert.deepEqual(list.map((x) => x.id), [a.id, b.id]);
        assert.deepEqual(list[0].rooms.slice(1).sort(), [room('f1'), room('f2')].sort());
        assert.equal(list[0].rooms[0], a.id);
        assert.deepEqual(list[1].auth, { name: 'B' });
        assert.ok(list.every((x) => x.nsp === '/features'));
        list = await c.emitWithAck('fetch_sockets', { to: [room('f1'), room('f2')], except: [room('f1')] });
        assert.deepEqual(list.map((x) => x.id), [b.id]);
        list = await c.emitWithAck('fetch_sockets', {});
        const ids = list.map((x) => x.id);
        for (const s of all) assert.ok(ids.includes(s.id), 'the whole namespace');
        list = await c.emitWithAck('fetch_sockets', { broadcast: true, to: all.map((s) => s.id) });
        assert.deepEqual(list.map((x) => x.id).sort(), [a.id, b.id].sort(), 'from a socket: without itself');
        assert.deepEqual(await c.emitWithAck('fetch_sockets', { to: [room('nobody')] }), []);
      } finally { closeAll(all); }
    });

    test('socketsJoin and socketsLeave', async () => {
      const all = await group(mode, 3);
      const [a, b, c] = all;
      try {
        await a.emitWithAck('join', room('j1'));
        await b.emitWithAck('join', room('j1'));
        assert.equal(await c.emitWithAck('sockets_join', { to: [room('j1')] }, room('j2')), 2);
        let list = await c.emitWithAck('fetch_sockets', { to: [room('j2')] });
        assert.deepEqual(list.map((x) => x.id).sort(), [a.id, b.id].sort());
        // everyone in j2 then receives what is sent to j2
        const got = Promise.all([a, b].map((s) => once(s, 'j2msg')));
        assert.deepEqual(await c.emitWithAck('broadcast', { to: [room('j2')] }, 'j2msg'), [2]);
        await got;
        assert.equal(await c.emitWithAck('sockets_leave', { to: [room('j2')], except: [a.id] }, room('j2')), 1);
        list = await c.emitWithAck('fetch_sockets', { to: [room('j2')] });
        assert.deepEqual(list.map((x) => x.id), [a.id]);
        assert.ok(!(await b.emitWithAck('rooms')).includes(room('j2')));
        assert.ok((await b.emitWithAck('rooms')).includes(room('j1')), 'other rooms untouched');
        // the whole namespace joins a room (only ours are checked)
        assert.ok(await c.emitWithAck('sockets_join', { to: all.map((s) => s.id) }, room('everyone')) === 3);
        for (const s of all) assert.ok((await s.emitWithAck('rooms')).includes(room('everyone')));
      } finally { closeAll(all); }
    });

    test('disconnectSockets: "io server disconnect" on the client, "server namespace disconnect" on the server', async () => {
      const all = await group(mode, 3);
      const [a, b, c] = all;
      try {
        await b.emitWithAck('join', room('kick'));
        await c.emitWithAck('join', room('kick'));
        const gone = Promise.all([b, c].map((s) => once(s, 'disconnect')));
        const ids = [b.id, c.id];
        assert.equal(await a.emitWithAck('disconnect_sockets', { to: [room('kick')] }, false), 2);
        for (const [reason] of await gone) assert.equal(reason, 'io server disconnect');
        for (const id of ids) assert.equal(await serverReason(srv, id), 'server namespace disconnect');
        assert.ok(a.connected);
        assert.deepEqual(await a.emitWithAck('fetch_sockets', { to: [room('kick')] }), [], 'their rooms are gone');
      } finally { closeAll(all); }
    });

    test('disconnectSockets(close): every namespace of those connections is told, then the connection closes', async () => {
      const [a] = await group(mode, 1);
      const m = new Manager(srv.url, { transports: mode.transports, reconnection: true, reconnectionDelay: 50, forceNew: true });
      const f = m.socket('/features', { auth: { name: 'F' } });
      const main = m.socket('/');
      try {
        await Promise.all([once(f, 'welcome'), once(main, 'auth')]);
        const gone = Promise.all([once(f, 'disconnect'), once(main, 'disconnect')]);
        const closed = once(m, 'close');
        assert.equal(await a.emitWithAck('disconnect_sockets', { to: [f.id] }, true), 1);
        const reasons = await gone;
        assert.deepEqual(reasons.map((r) => r[0]), ['io server disconnect', 'io server disconnect']);
        await closed;
        assert.equal(f.connected || main.connected, false);
        // "io server disconnect" means: do not reconnect
        await new Promise((res) => setTimeout(res, 300));
        assert.equal(f.connected || main.connected, false, 'no automatic reconnection');
      } finally { m.reconnection(false); closeAll(a, f, main); }
    });

    test('a socket leaves its rooms when it disconnects', async () => {
      const [a, b] = await group(mode, 2);
      try {
        await a.emitWithAck('join', room('leaving'));
        await b.emitWithAck('join', room('leaving'));
        const id = a.id;
        a.disconnect();
        assert.equal(await serverReason(srv, id), 'client namespace disconnect');
        const list = await b.emitWithAck('fetch_sockets', { to: [room('leaving')] });
        assert.deepEqual(list.map((x) => x.id), [b.id]);
        assert.deepEqual(await b.emitWithAck('fetch_sockets', { to: [id] }), [], 'nor is it reachable by id');
      } finally { closeAll(a, b); }
    });
  });
}

test('a room named by a socket\'s id that others joined reaches that socket too (as the reference: it is always in it)', async () => {
  const [a, b, c] = await group(MODES[0], 3);
  try {
    await b.emitWithAck('join', a.id); // B joins the room named by A's id
    const gotA = once(a, 'to_id');
    const gotB = once(b, 'to_id');
    const [[n]] = [await c.emitWithAck('broadcast', { to: [a.id] }, 'to_id', 1)];
    assert.equal(n, 2, 'both A (its own room) and B (joined it)');
    await Promise.all([gotA, gotB]);
    // except a.id excludes both too
    const [m] = await c.emitWithAck('broadcast', { except: [a.id] }, 'not_to_id');
    assert.equal(m, 1, 'only C is left');
    const list = await c.emitWithAck('fetch_sockets', { to: [a.id] });
    assert.deepEqual(list.map((x) => x.id).sort(), [a.id, b.id].sort());
  } finally { closeAll(a, b, c); }
});
