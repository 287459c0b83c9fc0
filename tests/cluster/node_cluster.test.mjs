// A cluster on a real Redis (Debian's redis-server, started here on a free
// loopback port): three nodes, two socket.io-client clients on each (one
// websocket, one polling), and every operation of the /chat cluster contract
// (tests/cluster/node-server.mjs) checked across nodes: fetchSockets counts
// and ids, rooms, broadcasts delivered exactly once, binary of every bin
// width, all-but-sender and except, broadcasts with acks from clients on every
// node, socketsJoin, disconnectSockets, serverSideEmitWithAck, the `key`
// option, a killed node, Redis restarted mid-test, and malformed messages
// PUBLISHed on the adapter's channels.
//
// By default every node is the Node reference (socket.io 4.8 +
// @socket.io/redis-adapter 8): the test proves the harness and records what
// Node does. Any node can be one of ours instead:
//   SIO_CLUSTER_KINDS=c,node,node ctest -R cluster/node_cluster
//   node --test tests/cluster/node_cluster.test.mjs   (with the variable)
//   node tests/cluster/node_cluster.test.mjs --kinds=node,c,c
//
// "Received exactly once, and nothing else" is checked without sleeping: the
// sending client asks its node for a sentinel broadcast right after the
// operation, and a client's packets from one node arrive in the order that
// node sent them (Redis keeps one publisher's order for each subscriber).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis } from './lib/redis.mjs';
import { startNode, nodeKinds } from './lib/nodes.mjs';
import { MALFORMED, materialize } from './lib/malformed.mjs';
import { connect, once, sleep, closeAll } from '../interop/lib/sio.mjs';

const KINDS = nodeKinds(['node', 'node', 'node']);
const WS = { name: 'websocket', transports: ['websocket'] };
const POLLING = { name: 'polling', transports: ['polling'] };

let redis;
let A, B, C; // the nodes
let a1, a2, b1, b2, c1, c2; // their clients: x1 over websocket, x2 over polling
let all; // every client, in that order

const toBuf = (v) => (Buffer.isBuffer(v) ? v : v instanceof ArrayBuffer ? Buffer.from(v)
  : Buffer.from(v.buffer, v.byteOffset, v.byteLength));
const ids = (...clients) => clients.map((c) => c.id).sort();

// A client of `node`'s /chat that answers "question" with its own id.
async function clientOf(node, mode) {
  const s = await connect(node.url, '/chat', mode);
  s.on('question', (ack) => ack(s.id));
  return s;
}

// Polls `fn` until `ok(value)` holds (bounded); resolves with the last value.
async function until(fn, ok, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await sleep(50);
  }
}

// The first argument of the node's acknowledgement (bounded).
const ask = (s, ...args) => s.timeout(8000).emitWithAck(...args);
// Every argument of it.
const askAll = (s, ...args) => new Promise((resolve, reject) => {
  s.timeout(8000).emit(...args, (err, ...res) => (err ? reject(err) : resolve(res)));
});

let seq = 0;
// Has `sender` emit `emitArgs`, then asks its node for a sentinel `msg` to
// everyone; resolves with, for each client of `clients`, the argument lists of
// every `event` it received before the sentinel.
function deliveries(sender, emitArgs, event, clients = all) {
  const token = `sentinel-${++seq}`;
  const waits = clients.map((c) => new Promise((resolve, reject) => {
    const got = [];
    const onEvent = (...a) => { if (a[0] !== token) got.push(a); };
    const onMsg = (...a) => { if (a[0] === token) { cleanup(); resolve(got); } };
    const timer = setTimeout(() => { cleanup(); reject(new Error(`no ${token} at ${c.id}`)); }, 8000);
    function cleanup() {
      clearTimeout(timer);
      c.off(event, onEvent);
      c.off('msg', onMsg);
    }
    c.on(event, onEvent);
    c.on('msg', onMsg);
  }));
  if (emitArgs.length) sender.emit(...emitArgs);
  sender.emit('to_all', token);
  return Promise.all(waits);
}

before(async () => {
  redis = await startRedis();
  const started = await Promise.allSettled(KINDS.map((kind, i) =>
    startNode(kind, { redisUrl: redis.url, id: `${'ABC'[i]}-${kind}` })));
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) {
    await Promise.all(started.filter((r) => r.value).map((r) => r.value.stop()));
    throw failed.reason;
  }
  [A, B, C] = started.map((r) => r.value);
  [a1, a2, b1, b2, c1, c2] = await Promise.all([A, A, B, B, C, C].map((n, i) =>
    clientOf(n, i % 2 ? POLLING : WS)));
  all = [a1, a2, b1, b2, c1, c2];
});

after(async () => {
  closeAll(all || []);
  const ends = await Promise.all([A, B, C].filter(Boolean).map(async (n) => [n, await n.stop()]));
  await redis?.stop();
  for (const [n, r] of ends) {
    if (n === C) continue; // killed on purpose below
    assert.equal(r.code, 0, `node ${n.id} exits cleanly on SIGTERM (it did not crash during the test)`);
  }
});

describe(`cluster of ${KINDS.join(', ')} nodes on one Redis`, () => {
  test('count and ids: fetchSockets sees the clients of every node', async () => {
    for (const s of [a1, b2, c1]) {
      assert.equal(await ask(s, 'count'), 6, `count asked on ${s.id}`);
      assert.deepEqual((await ask(s, 'ids')).sort(), ids(...all));
    }
  });

  test('join is local, count_room and to_room work across nodes, exactly once', async () => {
    assert.equal(await ask(a1, 'join', 'r1'), true);
    assert.equal(await ask(b1, 'join', 'r1'), true);
    for (const s of [a2, c2]) assert.equal(await ask(s, 'count_room', 'r1'), 2);
    assert.equal(await ask(c2, 'count_room', 'nobody-here'), 0);
    const got = await deliveries(c1, ['to_room', 'r1', { text: 'to r1 ✓', n: [1, 2.5, -3] }], 'room_msg');
    assert.deepEqual(got, [
      [[{ text: 'to r1 ✓', n: [1, 2.5, -3] }]], [], [[{ text: 'to r1 ✓', n: [1, 2.5, -3] }]], [], [], [],
    ]);
  });

  test('to_all and msg_to_server reach every client of every node exactly once', async () => {
    for (const sender of [a1, b2, c1]) {
      const got = await deliveries(sender, ['to_all', 'hello', sender.id, { deep: [null, true] }], 'msg');
      for (const g of got) assert.deepEqual(g, [['hello', sender.id, { deep: [null, true] }]]);
    }
    const got = await deliveries(b1, ['msg_to_server', { from: 'b1' }], 'msg_to_client');
    for (const g of got) assert.deepEqual(g, [[{ from: 'b1' }]]);
  });

  test('binary passes through Redis (bin8, bin16, bin32, nested), to both transports', async () => {
    const small = Buffer.from([0xde, 0xad, 0xbe, 0xef]);
    const mid = Buffer.alloc(300, 7);
    const big = Buffer.alloc(70000);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    const got = await deliveries(b2, ['to_all', 'blob', small, { nested: mid, list: [big] }], 'msg');
    for (const g of got) {
      assert.equal(g.length, 1);
      const [[name, s, o]] = g;
      assert.equal(name, 'blob');
      assert.deepEqual(toBuf(s), small);
      assert.deepEqual(toBuf(o.nested), mid);
      assert.deepEqual(toBuf(o.list[0]), big);
    }
    assert.deepEqual(toBuf(await ask(c2, 'bin_echo', small)), small);
  });

  test('to_others: everyone but the sender; except_room: everyone outside the room', async () => {
    let got = await deliveries(b1, ['to_others', 'not for b1'], 'others_msg');
    assert.deepEqual(got.map((g) => g.length), [1, 1, 0, 1, 1, 1]);
    for (const g of got) if (g.length) assert.deepEqual(g, [['not for b1']]);
    got = await deliveries(c1, ['except_room', 'r1', 'not for r1'], 'others_msg');
    assert.deepEqual(got.map((g) => g.length), [0, 1, 0, 1, 1, 1], 'a1 and b1 are in r1');
  });

  test('ask_all / ask_room: broadcasts with acks collect the answers of clients on every node', async () => {
    for (const s of [a2, c1]) assert.deepEqual((await ask(s, 'ask_all')).sort(), ids(...all));
    assert.deepEqual((await ask(c2, 'ask_room', 'r1')).sort(), ids(a1, b1));
    assert.deepEqual(await ask(a2, 'ask_room', 'nobody-here'), []);
  });

  test('sockets_join: socketsJoin reaches the sockets of a room on every node', async () => {
    assert.equal(await ask(c2, 'sockets_join', 'r1', 'r2'), true);
    // Fire and forget: every node applies it when the request comes back from Redis.
    assert.equal(await until(() => ask(a2, 'count_room', 'r2'), (n) => n === 2), 2);
    const got = await deliveries(b2, ['to_room', 'r2', 'to r2'], 'room_msg');
    assert.deepEqual(got.map((g) => g.length), [1, 0, 1, 0, 0, 0]);
  });

  test('ping_servers: serverSideEmitWithAck reaches every other node, which answers with its id', async () => {
    for (const [s, others] of [[a1, [B, C]], [b2, [A, C]], [c1, [A, B]]]) {
      const [n, list] = await askAll(s, 'ping_servers');
      assert.equal(n, 2);
      assert.deepEqual(list.sort(), others.map((o) => o.id).sort());
    }
  });

  test('kick_room: disconnectSockets(false) disconnects the room on every node', async () => {
    const [x, y] = await Promise.all([clientOf(A, WS), clientOf(B, POLLING)]);
    try {
      assert.equal(await ask(x, 'join', 'kick'), true);
      assert.equal(await ask(y, 'join', 'kick'), true);
      assert.equal(await ask(c1, 'count'), 8);
      const gone = Promise.all([once(x, 'disconnect', 8000), once(y, 'disconnect', 8000)]);
      assert.equal(await ask(c1, 'kick_room', 'kick'), true);
      for (const [reason] of await gone) assert.equal(reason, 'io server disconnect');
      assert.equal(await until(() => ask(c1, 'count'), (n) => n === 6), 6);
    } finally { closeAll(x, y); }
  });

  test('the key option: a node on another key is in another cluster', async () => {
    const D = await startNode(KINDS[0], { redisUrl: redis.url, key: 'other-cluster', id: 'D-other' });
    const d = await clientOf(D, WS);
    try {
      const [n, list] = await askAll(d, 'ping_servers');
      assert.deepEqual([n, list], [0, []]);
      assert.equal(await ask(d, 'count'), 1);
      assert.equal(await ask(a1, 'count'), 6);
      const dGot = [];
      d.on('msg', (...m) => dGot.push(m));
      const got = await deliveries(a1, ['to_all', 'main cluster only'], 'msg');
      assert.deepEqual(got.map((g) => g.length), [1, 1, 1, 1, 1, 1]);
      // D's own sentinel comes after A's publication on Redis: D has seen it if it ever will.
      assert.deepEqual(await deliveries(d, [], 'msg', [d]), [[]]);
      assert.deepEqual(dGot.filter(([m]) => m === 'main cluster only'), []);
    } finally {
      closeAll(d);
      assert.equal((await D.stop()).code, 0);
    }
  });

  // Inputs that crash a Node node are listed in lib/malformed.mjs (node:
  // 'crashes'): anything that is not MessagePack, truncated or oversized
  // MessagePack, a payload that is not a 3-array with an object packet and
  // iterable rooms/except (nil, a number, [uid, packet]), garbage on the room
  // channel of a room the node has, and on the request/response channels a
  // MessagePack nil or a type 5 / type 7 request without opts. They are for
  // the C nodes' tests: one bad publisher takes every Node node down.
  test('malformed messages that Node survives leave every node serving', async () => {
    const survivable = MALFORMED.filter((m) => m.node === 'survives');
    assert.ok(survivable.length >= 10);
    const got = await deliveries(a1, [], 'msg'); // nothing before: a baseline
    assert.deepEqual(got.map((g) => g.length), [0, 0, 0, 0, 0, 0]);
    const mon = await redis.monitor();
    let after;
    try {
      for (const m of survivable) {
        const { channel, payload } = materialize(m, { room: 'r1' });
        const n = await redis.publish(channel, payload);
        // Room channels reach only the pattern subscribers (3), the others also the plain ones.
        assert.ok(n >= 3, `${m.name}: ${channel} reached the 3 nodes (${n})`);
      }
      // A barrier: the nodes get the sentinel after every injected message.
      after = await deliveries(c1, [], 'msg');
      await mon.waitFor(/"PUBLISH" "socket\.io#\/chat#"/);
    } finally { await mon.stop(); }
    assert.deepEqual(after.map((g) => g.length), [0, 0, 0, 0, 0, 0], 'none of them reached a client');
    const published = mon.lines.filter((l) => /"PUBLISH"/i.test(l));
    assert.equal(published.length, survivable.length + 1, `no node answered any of them:\n${published.join('\n')}`);
    for (const n of [A, B, C]) assert.ok(n.running(), `node ${n.id} still runs`);
    for (const s of [a1, b1, c1]) assert.equal(await ask(s, 'count'), 6);
  });

  test('a killed node stops being counted', async () => {
    const gone = Promise.all([once(c1, 'disconnect', 8000), once(c2, 'disconnect', 8000)]);
    await C.kill();
    await gone;
    // Its Redis connections close with the process: PUBSUB NUMSUB drops at once.
    assert.equal(await until(() => redis.numsub('socket.io-request#/chat#'), (n) => n === 2), 2);
    const [n, list] = await askAll(a1, 'ping_servers');
    assert.deepEqual([n, list], [1, [B.id]]);
    assert.equal(await ask(b1, 'count'), 4);
    assert.deepEqual((await ask(a2, 'ask_all')).sort(), ids(a1, a2, b1, b2));
    all = [a1, a2, b1, b2];
  });

  // What @socket.io/redis-adapter 8.3 does while Redis is down: local
  // delivery goes on (the node serves its own clients first, then publishes);
  // the publication waits in node-redis' offline queue and is sent when the
  // connection is back, which may be before or after the other nodes have
  // resubscribed, so a remote client gets it or not (both seen here): no
  // guarantee, no replay. Requests (fetchSockets & co.) wait for the
  // connection too (PUBSUB NUMSUB is queued) and then run, within their own
  // timeout. And a Node node that broadcasts in the moment between Redis
  // going away and its client noticing (the PUBLISH written to a closed
  // socket: EPIPE) crashes: the adapter does not catch pubClient.publish()'s
  // rejection, and an unhandled rejection ends a Node 20 process. So the test
  // broadcasts only once A has logged that its connection is down.
  test('Redis restarted mid-test: local delivery goes on, the nodes reconnect and resubscribe', async (t) => {
    const remote = [];
    const onMsg = (...a) => remote.push(a);
    b1.on('msg', onMsg);
    const mark = A.stdout().length;
    // one pattern per namespace that has an adapter (a C node makes more of them than Node)
    const patterns = await redis.numpat();
    await redis.halt();
    try {
      const down = await until(() => A.stdout().slice(mark), (o) => /redis pub (error|reconnecting)/.test(o), 5000);
      assert.match(down, /redis pub (error|reconnecting)/, 'A logs the lost connection');
      const local = Promise.all([once(a1, 'msg'), once(a2, 'msg')]);
      a1.emit('to_all', 'during the outage');
      for (const [m] of await local) assert.equal(m, 'during the outage', 'A serves its own clients without Redis');
      await sleep(300);
      assert.deepEqual(remote, [], 'nothing crosses while Redis is down');
    } finally {
      await redis.resume();
    }
    // Back: both nodes resubscribe (NUMSUB counts them again), and requests work.
    assert.equal(await until(() => redis.numsub('socket.io-request#/chat#'), (n) => n === 2), 2);
    assert.equal(await until(() => redis.numpat(), (n) => n === patterns), patterns, 'the broadcast patterns too');
    const [n] = await until(
      () => askAll(a1, 'ping_servers'),
      ([k]) => k === 1);
    assert.equal(n, 1);
    const got = await deliveries(b2, ['to_all', 'after the restart'], 'msg');
    for (const g of got) assert.deepEqual(g.filter(([m]) => m !== 'during the outage'), [['after the restart']]);
    b1.off('msg', onMsg);
    t.diagnostic(`the broadcast made during the outage reached B's client after the restart: ${
      remote.some(([m]) => m === 'during the outage')}`);
    assert.equal(await ask(a1, 'count'), 4);
    for (const s of all) assert.ok(s.connected, 'the clients stayed connected through the outage');
  });
});
