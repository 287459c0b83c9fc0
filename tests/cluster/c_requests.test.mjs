// Requests between servers as a C node answers them (issue 14), with no Node
// node in the cluster, so that the malformed requests and responses that
// crash Node (tests/cluster/lib/malformed.mjs, `node: 'crashes'`) can be
// injected too: two C nodes on a real Redis, one client each, a requester
// played by the test itself (PUBLISH on the request channel, the answers read
// on the response channels).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis } from './lib/redis.mjs';
import { startNode } from './lib/nodes.mjs';
import { MALFORMED, materialize } from './lib/malformed.mjs';
import { connect, sleep, closeAll } from '../interop/lib/sio.mjs';

let redis, A, B, a, b;
const REQ = 'socket.io-request#/chat#';
const ask = (s, ...args) => s.timeout(8000).emitWithAck(...args);

before(async () => {
  redis = await startRedis();
  [A, B] = await Promise.all(['A', 'B'].map((id) => startNode('c', { redisUrl: redis.url, id })));
  [a, b] = await Promise.all([A, B].map((n) => connect(n.url, '/chat', { transports: ['websocket'] })));
  assert.equal(await ask(a, 'join', 'r1'), true);
});

after(async () => {
  closeAll([a, b].filter(Boolean));
  const ends = await Promise.all([A, B].filter(Boolean).map((n) => n.stop()));
  await redis?.stop();
  for (const r of ends) assert.equal(r.code, 0, 'the node exits cleanly on SIGTERM');
});

// Publishes request `req` (JSON) and collects the responses for 300 ms.
async function request(req) {
  const sub = await redis.psubscribe('socket.io-response#/chat#*');
  try {
    await redis.publish(REQ, JSON.stringify(req));
    await sleep(300);
    return sub.got.map((g) => JSON.parse(g.message.toString()));
  } finally { await sub.stop(); }
}

describe('C nodes answer the requests of @socket.io/redis-adapter 8', () => {
  test('type 5 (fetchSockets) and 0 (legacy ids): every node answers, with its matching sockets', async () => {
    let got = await request({ uid: 'TESTER', requestId: 'rq5all', type: 5, opts: { rooms: [], except: [] } });
    assert.equal(got.length, 2, 'one answer per node, even the empty ones');
    const ids = got.flatMap((r) => { assert.equal(r.requestId, 'rq5all'); return r.sockets.map((s) => s.id); });
    assert.deepEqual(ids.sort(), [a.id, b.id].sort());
    const ea = got.flatMap((r) => r.sockets).find((s) => s.id === a.id);
    assert.deepEqual(ea.rooms, [a.id, 'r1'], 'its own id first, then its rooms');
    assert.equal(ea.handshake.address, '127.0.0.1');
    assert.equal(ea.data, null);
    got = await request({ uid: 'TESTER', requestId: 'rq5r1', type: 5, opts: { rooms: ['r1'], except: [] } });
    assert.deepEqual(got.map((r) => r.sockets.length).sort(), [0, 1]);
    got = await request({ uid: 'TESTER', requestId: 'rq0', type: 0, rooms: ['r1'] });
    assert.deepEqual(got.map((r) => r.sockets).sort(), [[], [a.id]]);
  });

  test('type 1 (allRooms): socket-id rooms included', async () => {
    const got = await request({ uid: 'TESTER', requestId: 'rq1', type: 1 });
    assert.equal(got.length, 2);
    const rooms = got.flatMap((r) => r.rooms);
    for (const r of [a.id, b.id, 'r1']) assert.ok(rooms.includes(r), `${r} listed`);
  });

  test('type 6 with a requestId is answered once by each node with a handler; without one, not at all', async () => {
    let got = await request({ uid: 'TESTER', requestId: 'rq6', type: 6, data: ['hello'] });
    assert.deepEqual(got.map((r) => [r.type, r.requestId, r.data]).sort(), [[6, 'rq6', 'A'], [6, 'rq6', 'B']]);
    got = await request({ uid: 'TESTER', type: 6, data: ['hello'] });
    assert.deepEqual(got, []);
    got = await request({ uid: 'TESTER', requestId: 'rq6x', type: 6, data: ['nobody-handles-this'] });
    assert.deepEqual(got, []);
  });

  test('types 2 and 4 from another server are applied to the selected sockets, unanswered', async () => {
    let got = await request({ uid: 'TESTER', type: 2, opts: { rooms: ['r1'], except: [] }, rooms: ['r9'] });
    assert.deepEqual(got, []);
    assert.equal(await ask(b, 'count_room', 'r9'), 1);
    const gone = new Promise((resolve) => a.once('disconnect', resolve));
    got = await request({ uid: 'TESTER', type: 4, opts: { rooms: ['r9'], except: [] }, close: false });
    assert.deepEqual(got, []);
    assert.equal(await gone, 'io server disconnect');
    assert.equal(await ask(b, 'count'), 1);
  });

  test('a request that empties a dynamic namespace (its last socket disconnected) ends safely', async () => {
    // the disconnect frees the namespace and its adapter instance while the
    // request is being handled; the legacy form then answers, the opts form
    // goes on walking: the node must hold the namespace until it is done
    const forms = [
      (sid) => ({ uid: 'TESTER', requestId: 'dynlegacy', type: 4, sid, close: false }),
      () => ({ uid: 'TESTER', type: 4, opts: { rooms: [], except: [] }, close: false }),
    ];
    for (const [i, form] of forms.entries()) {
      const nsp = `/dyn-7${i}`;
      const channel = `socket.io-request#${nsp}#`;
      const d = await connect(A.url, nsp, { transports: ['websocket'] });
      for (let k = 0; k < 100 && (await redis.numsub(channel)) < 1; k++) await sleep(20);
      assert.equal(await redis.numsub(channel), 1, `${nsp}: node A subscribed`);
      const gone = new Promise((resolve) => d.once('disconnect', resolve));
      await redis.publish(channel, JSON.stringify(form(d.id)));
      assert.equal(await gone, 'io server disconnect', `${nsp}: disconnected by the request`);
      d.close();
      for (let k = 0; k < 100 && (await redis.numsub(channel)) > 0; k++) await sleep(20);
      assert.equal(await redis.numsub(channel), 0, `${nsp}: the empty namespace is gone`);
      const x = await connect(A.url, '/chat', { transports: ['websocket'] });
      try {
        assert.equal(await ask(x, 'whoami'), 'A', 'node A still serves');
      } finally { x.close(); }
    }
  });

  test('malformed requests and responses, those that crash Node included: nothing answered, nodes serve', async () => {
    const bad = MALFORMED.filter((m) => /^(request|response):/.test(m.name));
    assert.ok(bad.some((m) => m.node === 'crashes'));
    const mon = await redis.monitor();
    try {
      for (const m of bad) {
        const { channel, payload } = materialize(m);
        assert.equal(await redis.publish(channel, payload), 2, `${m.name}: both nodes got it`);
      }
      assert.equal(await ask(b, 'count'), 1); // a barrier: a request after them all
    } finally { await mon.stop(); }
    const answers = mon.lines.filter((l) => /"PUBLISH" "socket\.io-response/.test(l));
    const injected = bad.filter((m) => m.name.startsWith('response:')).length;
    assert.equal(answers.length, injected + 1,
      `the injected responses, and only the barrier's fetch answered:\n${answers.join('\n')}`);
    for (const n of [A, B]) assert.ok(n.running(), `node ${n.id} still runs`);
  });
});
