// Clients that do not take their output: a WebSocket client that stops
// reading, a polling client that stops polling; and a burst over the limit to
// clients that do read, which must not be mistaken for them.
//
// A slow reader cut off in the middle of a broadcast. The WebSocket layer
// disconnects a connection whose unwritten output passes its limit; that
// happens inside a send, possibly one of a broadcast's many. Closing runs the
// application's disconnect handlers, which may broadcast themselves (a chat
// server tells the room who left) or change rooms: they must not run while a
// broadcast walks the rooms, or its de-duplication marks and member arrays
// change under it. Here: official clients A-D in rooms r1 and r2, a raw client
// S in r1 that stops reading and whose disconnect broadcasts "peer_left" to
// r1, and broadcasts of 64 KB to [r1, r2] until S is cut off. Every client
// must get each broadcast exactly once, and the notice once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { RawPolling, RawWs } from './lib/rawsio.mjs';
import { RELAXED, connect, once, collect, closeAll, serverReason } from './lib/sio.mjs';

const WS = { name: 'websocket', transports: ['websocket'] };

// The acknowledgement `id` of /features, skipping the events before it (bounded).
async function nextAck(c, id) {
  for (let i = 0; i < 20; i++) {
    const p = await c.next();
    if (typeof p === 'string' && p.startsWith(`43/features,${id}[`)) return p;
  }
  throw new Error(`no acknowledgement ${id}`);
}

test('a slow reader cut off during a broadcast: its disconnect handler broadcasts, nobody gets a duplicate', async () => {
  // maxHttpBufferSize 100000: the output limit per connection is its floor, 1 MiB
  const srv = await startServer('sio-test-server', [...RELAXED, '--max-http-buffer-size', '100000']);
  const peers = [];
  try {
    for (const name of ['A', 'B', 'C', 'D']) peers.push(await connect(srv.url, '/features', WS, { auth: { name } }));
    for (const p of peers) await p.emitWithAck('join', ['r1', 'r2']);
    const [a, ...receivers] = peers;

    const s = await RawWs.open(srv.url);
    await s.send('40/features,{"name":"S"}');
    const connected = await s.next();
    assert.match(connected, /^40\/features,\{"sid":/);
    const sid = JSON.parse(connected.slice('40/features,'.length)).sid;
    await s.send('42/features,1["join","r1"]');
    assert.match(await nextAck(s, 1), /^43\/features,1\[\[/);
    await s.send('42/features,2["notify_on_leave","r1"]');
    assert.equal(await nextAck(s, 2), '43/features,2[true]');
    s.ws._socket.pause(); // S reads nothing more: its output piles up in the server

    const counts = receivers.map(() => new Map());
    receivers.forEach((p, i) => p.on('big', (round) => counts[i].set(round, (counts[i].get(round) ?? 0) + 1)));
    const notices = receivers.map(() => []);
    receivers.forEach((p, i) => p.on('peer_left', (sid) => notices[i].push(sid)));
    const leftSeen = once(receivers[0], 'peer_left', 120000);

    const payload = 'x'.repeat(65536);
    const REPEAT = 10;
    let rounds = 0;
    let cut = false;
    leftSeen.then(() => { cut = true; }, () => {});
    // bounded: 80 rounds of 640 KB to S are far beyond loopback buffers plus the 1 MiB limit
    for (; rounds < 80 && !cut; rounds++) {
      const n = await a.emitWithAck('broadcast', { to: ['r1', 'r2'], repeat: REPEAT }, 'big', rounds, payload);
      assert.equal(n.length, REPEAT);
    }
    await leftSeen;
    assert.ok(cut, `S was cut off within ${rounds} rounds`);
    assert.equal(await serverReason(srv, sid), 'transport error');

    // a sentinel after the last round: everything before it has arrived
    const done = receivers.map((p) => once(p, 'sentinel', 30000));
    await a.emitWithAck('broadcast', { to: ['r2'] }, 'sentinel');
    await Promise.all(done);
    receivers.forEach((p, i) => {
      for (let r = 0; r < rounds; r++) {
        assert.equal(counts[i].get(r), REPEAT, `client ${'BCD'[i]}: round ${r} arrived ${counts[i].get(r) ?? 0} times, not ${REPEAT}`);
      }
      assert.equal(notices[i].length, 1, `client ${'BCD'[i]}: one peer_left notice`);
    });
    s.close();
  } finally {
    closeAll(peers);
    const r = await srv.stop();
    assert.equal(r.code, 0, 'server exits cleanly (and leak-free under ASan) on SIGTERM');
  }
  assert.match(srv.stderr(), /output queue over 1048576 bytes: disconnecting a slow reader/);
});

// The polling transport has no socket buffer to fill: without a limit, a
// client that stops polling (but keeps its TCP connection, or is simply gone
// until the heartbeat notices) would grow the server's queue by every
// broadcast for up to pingInterval + pingTimeout. Past four times the
// WebSocket transport's limit the session is closed ("transport error"), and
// the other clients are unaffected.
test('a polling client that stops polling is closed once its output passes the limit', async () => {
  const srv = await startServer('sio-test-server', [...RELAXED, '--max-http-buffer-size', '100000']);
  const peers = [];
  try {
    const p = await RawPolling.open(srv.url);
    await p.send('40/chat,');
    const connected = await p.next();
    assert.match(connected, /^40\/chat,\{"sid":/);
    const sid = JSON.parse(connected.slice('40/chat,'.length)).sid;
    // from here on p sends no GET

    for (let i = 0; i < 2; i++) peers.push(await connect(srv.url, '/chat', WS));
    const [a, b] = peers;
    const payload = 'y'.repeat(65536);
    // 100 x 64 KiB = 6.4 MiB for p: past its limit, four times the WebSocket
    // one (1 MiB here). Sent ten at a time, at b's pace: b keeps up.
    for (let batch = 0; batch < 10; batch++) {
      const got = collect(b, 'msg_to_client', 10, 30000);
      for (let i = 0; i < 10; i++) a.emit('msg_to_server', `${batch * 10 + i} ${payload}`);
      const seq = (await got).map(([m]) => Number(m.split(' ')[0]));
      assert.deepEqual(seq, [...Array(10).keys()].map((i) => batch * 10 + i), 'b got every message, in order');
    }
    assert.equal(await serverReason(srv, sid, 3000), 'transport error', 'closed for its queue, before any ping timeout');
    const r = await p.next();
    assert.equal(r.status, 400, 'the session is gone');
    p.close();
    assert.equal((await a.emitWithAck('echo', 'still here')), 'still here');
  } finally {
    closeAll(peers);
    const r = await srv.stop();
    assert.equal(r.code, 0, 'server exits cleanly (and leak-free under ASan) on SIGTERM');
  }
  assert.match(srv.stderr(), /polling output over 4194304 bytes and no GET to take it/);
});

// The other side of the limit: a burst far over it, to clients that read, is
// delivered whole. The limit counts a backlog (output the kernel refused at an
// earlier write), not what one loop iteration queues.
test('a burst of broadcasts over the output limit reaches clients that keep reading', async () => {
  const srv = await startServer('sio-test-server', [...RELAXED, '--max-http-buffer-size', '100000']);
  const peers = [];
  try {
    for (let i = 0; i < 3; i++) peers.push(await connect(srv.url, '/chat', WS));
    const [a, ...readers] = peers;
    const N = 40; // 40 x 64 KiB = 2.5 MiB in one go, the limit being 1 MiB
    const all = readers.map((r) => collect(r, 'msg_to_client', N, 30000));
    const payload = 'z'.repeat(65536);
    for (let i = 0; i < N; i++) a.emit('msg_to_server', `${i} ${payload}`);
    for (const got of await Promise.all(all)) {
      assert.deepEqual(got.map(([m]) => Number(m.split(' ')[0])), [...Array(N).keys()]);
    }
    assert.equal(await a.emitWithAck('echo', 'after'), 'after');
  } finally {
    closeAll(peers);
    const r = await srv.stop();
    assert.equal(r.code, 0, 'server exits cleanly (and leak-free under ASan) on SIGTERM');
  }
  assert.doesNotMatch(srv.stderr(), /slow reader/);
});
