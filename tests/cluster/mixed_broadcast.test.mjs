// A mixed cluster on a real Redis: two C nodes (sio-test-server --redis) and
// one Node node (socket.io 4.8 + @socket.io/redis-adapter 8), two clients on
// each (one websocket, one polling), and broadcasts checked in every
// direction (C->C, C->Node, Node->C): to all, to a room (the room channel),
// all but a room, all but the sender, binary of every bin width, numbers of
// every MessagePack width and large strings from a Node sender, each
// delivered exactly once (no node takes its own publication back). Then
// malformed messages PUBLISHed on the channels (tests/cluster/lib/malformed.mjs):
// the C nodes survive all of them, those that crash Node on a key of their
// own, and no client receives anything. Last, Redis restarted mid-test: local
// delivery goes on, the C nodes say so, reconnect and resubscribe, and
// broadcasts flow again.
//
// The requests between servers (fetchSockets & co.) are not in the C
// adapter yet: node_cluster.test.mjs covers them with Node nodes.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { startRedis } from './lib/redis.mjs';
import { startNode } from './lib/nodes.mjs';
import { MALFORMED, materialize } from './lib/malformed.mjs';
import { connect, once, sleep, closeAll } from '../interop/lib/sio.mjs';

const WS = { name: 'websocket', transports: ['websocket'] };
const POLLING = { name: 'polling', transports: ['polling'] };

let redis;
let A, B, C; // A, B: C nodes; C: the Node node
let a1, a2, b1, b2, c1, c2;
let all;

const toBuf = (v) => (Buffer.isBuffer(v) ? v : v instanceof ArrayBuffer ? Buffer.from(v)
  : Buffer.from(v.buffer, v.byteOffset, v.byteLength));
const ask = (s, ...args) => s.timeout(8000).emitWithAck(...args);

async function until(fn, ok, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await sleep(50);
  }
}

let seq = 0;
const nodeOf = new Map(); // client -> its node

// `sender` emits emitArgs; resolves with, per client, the argument lists of
// every `event` received before a sentinel `msg`. The sentinel is sent in two
// steps, so that a node taking back its own publication would show: the
// sender's node broadcasts a first one, and once every client has it, a
// client of another node (the relay) broadcasts the second. Redis hands each
// subscriber the publications in the order it took them, so the sender's
// node reads its own publications before the relay's sentinel.
function deliveries(sender, emitArgs, event, clients = all) {
  const first = `sentinel-${++seq}`;
  const last = `sentinel-${++seq}`;
  const relay = clients.find((c) => nodeOf.get(c) && nodeOf.get(c) !== nodeOf.get(sender));
  const waitFor = (token, record) => Promise.all(clients.map((c) => new Promise((resolve, reject) => {
    const got = [];
    const onEvent = (...a) => { if (!String(a[0]).startsWith('sentinel-')) got.push(a); };
    const onMsg = (...a) => { if (a[0] === token) { cleanup(); resolve(got); } };
    const timer = setTimeout(() => { cleanup(); reject(new Error(`no ${token} at ${c.id}`)); }, 8000);
    function cleanup() {
      clearTimeout(timer);
      if (record) c.off(event, onEvent);
      c.off('msg', onMsg);
    }
    if (record) c.on(event, onEvent);
    c.on('msg', onMsg);
  })));
  const results = waitFor(relay ? last : first, true);
  const firstSeen = waitFor(first, false);
  if (emitArgs.length) sender.emit(...emitArgs);
  sender.emit('to_all', first);
  if (relay) firstSeen.then(() => relay.emit('to_all', last), () => {});
  return results;
}

before(async () => {
  redis = await startRedis();
  const started = await Promise.allSettled([['c', 'A-c'], ['c', 'B-c'], ['node', 'C-node']]
    .map(([kind, id]) => startNode(kind, { redisUrl: redis.url, id })));
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) {
    await Promise.all(started.filter((r) => r.value).map((r) => r.value.stop()));
    throw failed.reason;
  }
  [A, B, C] = started.map((r) => r.value);
  [a1, a2, b1, b2, c1, c2] = await Promise.all([A, A, B, B, C, C].map((n, i) =>
    connect(n.url, '/chat', i % 2 ? POLLING : WS)));
  all = [a1, a2, b1, b2, c1, c2];
  all.forEach((c, i) => nodeOf.set(c, [A, A, B, B, C, C][i]));
});

after(async () => {
  closeAll(all || []);
  const ends = await Promise.all([A, B, C].filter(Boolean).map(async (n) => [n, await n.stop()]));
  await redis?.stop();
  for (const [n, r] of ends) assert.equal(r.code, 0, `node ${n.id} exits cleanly on SIGTERM`);
});

describe('a cluster of C, C and Node nodes: broadcasts', () => {
  test('the nodes are who they say', async () => {
    assert.deepEqual(await Promise.all([a1, b2, c1].map((s) => ask(s, 'whoami'))), ['A-c', 'B-c', 'C-node']);
  });

  test('to_all and msg_to_server: every client of every node, exactly once, from either kind', async () => {
    for (const sender of [a1, b2, c1, c2]) {
      const got = await deliveries(sender, ['to_all', 'hello', sender.id, { deep: [null, true, 'é✓'] }], 'msg');
      for (const g of got) assert.deepEqual(g, [['hello', sender.id, { deep: [null, true, 'é✓'] }]]);
    }
    for (const sender of [b1, c2]) {
      const got = await deliveries(sender, ['msg_to_server', { from: sender.id }], 'msg_to_client');
      for (const g of got) assert.deepEqual(g, [[{ from: sender.id }]]);
    }
  });

  test('to_room: the room channel, read by the nodes with a member, exactly once', async () => {
    assert.equal(await ask(a1, 'join', 'r1'), true);
    assert.equal(await ask(c1, 'join', 'r1'), true);
    for (const sender of [b2, a2, c2]) {
      const got = await deliveries(sender, ['to_room', 'r1', { to: 'r1', n: [1, 2.5, -3] }], 'room_msg');
      assert.deepEqual(got, [[[{ to: 'r1', n: [1, 2.5, -3] }]], [], [], [], [[{ to: 'r1', n: [1, 2.5, -3] }]], []],
        `sent from ${sender.id}`);
    }
    // a socket id as a room, on another node
    const got = await deliveries(a2, ['to_room', c2.id, 'just c2'], 'room_msg');
    assert.deepEqual(got.map((g) => g.length), [0, 0, 0, 0, 0, 1]);
  });

  test('to_others: all but the sender; except_room: all outside the room', async () => {
    for (const [sender, k] of [[b1, 2], [c1, 4], [a2, 1]]) {
      const got = await deliveries(sender, ['to_others', 'not for the sender'], 'others_msg');
      assert.deepEqual(got.map((g) => g.length), [1, 1, 1, 1, 1, 1].map((x, i) => (i === k ? 0 : x)),
        `sent by ${sender.id}`);
    }
    for (const sender of [a2, b1, c2]) {
      const got = await deliveries(sender, ['except_room', 'r1', 'not for r1'], 'others_msg');
      assert.deepEqual(got.map((g) => g.length), [0, 1, 1, 1, 0, 1], `sent by ${sender.id}: a1 and c1 are in r1`);
    }
  });

  test('binary of every bin width, nested, both ways, to both transports', async () => {
    const small = Buffer.from([0xde, 0xad, 0xbe, 0xef]);
    const mid = Buffer.alloc(300, 7);
    const big = Buffer.alloc(70000);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    for (const sender of [a1, c2, b2]) {
      const got = await deliveries(sender, ['to_all', 'blob', small, { nested: mid, list: [big, 'x'] }], 'msg');
      for (const g of got) {
        assert.equal(g.length, 1, `sent by ${sender.id}`);
        const [[name, s, o]] = g;
        assert.equal(name, 'blob');
        assert.deepEqual(toBuf(s), small);
        assert.deepEqual(toBuf(o.nested), mid);
        assert.deepEqual(toBuf(o.list[0]), big);
        assert.equal(o.list[1], 'x');
      }
    }
  });

  test('numbers of every MessagePack width and large strings, from a Node sender and a C one', async () => {
    const values = [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1,
      -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 53 - 1),
      0.5, -2.25, 1e-300, 5e-324, 1.7976931348623157e308 / 2 ** 960, 'x'.repeat(31),
      'y'.repeat(255), 'z'.repeat(65536), { ['k'.repeat(40)]: Array.from({ length: 20 }, (_, i) => i) }];
    // (Not above 2^64: notepack.io writes an integral double >= 2^64 as uint64
    // 0, so a Node node would deliver 0 too; the C nodes read the bytes as sent.)
    for (const sender of [c1, a1]) {
      const got = await deliveries(sender, ['to_all', 'numbers', ...values], 'msg');
      got.forEach((g, i) => assert.ok(isDeepStrictEqual(g, [['numbers', ...values]]),
        `sent by ${sender.id}, at client ${i}: ${JSON.stringify(g).slice(0, 300)}`));
    }
  });

  test('malformed messages: the C nodes survive every one, and no client gets anything', async () => {
    // Every input on a key of its own (the Node node would crash on some),
    // to a C node with a client in room "r".
    const D = await startNode('c', { redisUrl: redis.url, key: 'mal', id: 'D-c' });
    const d = await connect(D.url, '/chat', WS);
    try {
      assert.equal(await ask(d, 'join', 'r'), true);
      const dGot = [];
      d.on('msg', (...m) => dGot.push(m));
      for (const m of MALFORMED) {
        const { channel, payload } = materialize(m, { key: 'mal', room: 'r' });
        await redis.publish(channel, payload);
      }
      // D's own sentinel comes after the injected messages
      assert.deepEqual(await deliveries(d, [], 'msg', [d]), [[]]);
      assert.deepEqual(dGot.filter(([m]) => !String(m).startsWith('sentinel-')), []);
      assert.ok(D.running(), 'D still runs');
      const lines = D.stderr().split('\n').filter((l) => /dropped a message/.test(l));
      assert.ok(lines.length >= 1 && lines.length <= 3, `drops logged at most once a second:\n${lines.join('\n')}`);
    } finally {
      closeAll(d);
      assert.equal((await D.stop()).code, 0, 'D exits cleanly (no leak)');
    }
    // The inputs Node survives, on the cluster's own key: every node drops them.
    const before = await deliveries(a1, [], 'msg');
    assert.deepEqual(before.map((g) => g.length), [0, 0, 0, 0, 0, 0]);
    for (const m of MALFORMED.filter((x) => x.node === 'survives')) {
      const { channel, payload } = materialize(m, { room: 'r1' });
      await redis.publish(channel, payload);
    }
    const afterwards = await deliveries(b1, [], 'msg');
    assert.deepEqual(afterwards.map((g) => g.length), [0, 0, 0, 0, 0, 0], 'none reached a client');
    for (const n of [A, B, C]) assert.ok(n.running(), `node ${n.id} still runs`);
  });

  test('Redis restarted: local delivery goes on, the C nodes reconnect and resubscribe', async () => {
    const remote = [];
    const onMsg = (...a) => remote.push(a);
    b1.on('msg', onMsg);
    c1.on('msg', onMsg);
    const markA = A.stdout().length;
    const markB = B.stdout().length;
    await redis.halt();
    try {
      const down = await until(() => A.stdout().slice(markA), (o) => /redis pub (error|reconnecting)/.test(o), 5000);
      assert.match(down, /redis pub (error|reconnecting)/, 'A says the connection is lost');
      const local = Promise.all([once(a1, 'msg'), once(a2, 'msg')]);
      a1.emit('to_all', 'during the outage');
      for (const [m] of await local) assert.equal(m, 'during the outage', 'A serves its own clients');
      await sleep(300);
      assert.deepEqual(remote, [], 'nothing crosses while Redis is down');
    } finally {
      await redis.resume();
    }
    for (const [n, mark] of [[A, markA], [B, markB]]) {
      const out = await until(() => n.stdout().slice(mark), (o) => /redis pub ready/.test(o), 10000);
      assert.match(out, /redis pub ready/, `${n.id} is ready again`);
    }
    // (readiness polls the private response channel, subscribed after the
    // broadcast pattern: the pattern is back too)
    assert.equal(await until(() => redis.numsub('socket.io-request#/chat#'), (k) => k === 3), 3);
    b1.off('msg', onMsg);
    c1.off('msg', onMsg);
    assert.deepEqual(remote.filter(([m]) => m === 'during the outage'), [], 'dropped, not replayed');
    for (const sender of [a2, c2]) {
      const got = await deliveries(sender, ['to_all', 'after the restart'], 'msg');
      for (const g of got) assert.deepEqual(g, [['after the restart']], `sent by ${sender.id}`);
    }
    for (const s of all) assert.ok(s.connected, 'the clients stayed connected');
  });
});
