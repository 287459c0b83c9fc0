// The three servers the chaos test drives, and what a random client says to
// each: sio-test-server (tests/helpers/sio_test_server), sio-chat (examples/chat) and
// chaos-server (tests/helpers/chaos_server.c, whose handlers run programs
// the clients send, from inside other callbacks).
//
// A target has: the program and its flags; the namespaces and auth payloads
// a client picks from; sioAction (one random thing an official client does);
// rawPacket (one Socket.IO packet a raw client sends); the flooded room; and
// alive(url), the end-of-run check that a fresh client gets an answer.
import { io } from 'socket.io-client';
import { ackOf } from './clients.mjs';
import { sleep, within } from './lib.mjs';

const ROOMS = ['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7'];
const prefix = (nsp) => (nsp === '/' ? '' : `${nsp},`);
const bin = (rng) => Buffer.alloc(rng.pick([1, 64, 1000, 70000]), rng.int(256));

function packet(rng, nsp, events) {
  const event = rng.pick(events);
  const id = rng.chance(0.5) ? String(rng.int(1000)) : '';
  if (rng.chance(0.25)) {
    const b = bin(rng);
    return { event, binary: b, id, text0: `451-${prefix(nsp)}${id}${JSON.stringify([event, { _placeholder: true, num: 0 }])}` };
  }
  return { text: `42${prefix(nsp)}${id}${JSON.stringify([event, 'x'.repeat(rng.int(200)), rng.int(1e6)])}` };
}

// A fresh official client connects over each transport and gets an answer.
async function aliveWith(url, nsp, auth, check) {
  for (const transports of [['websocket'], ['polling']]) {
    const s = io(url + nsp, { transports, forceNew: true, reconnection: false, timeout: 10000, auth });
    try {
      await within(new Promise((resolve, reject) => {
        s.once('connect', resolve);
        s.once('connect_error', reject);
      }), 15000, `connect (${transports})`);
      await check(s);
    } finally {
      s.close();
    }
  }
}

// ---- sio-test-server ------------------------------------------------------------------------------

export const testServer = {
  name: 'sio-test-server',
  bin: 'sio-test-server',
  args: ['--ping-interval', '600', '--ping-timeout', '1200', '--connect-timeout', '1500'],
  drainMs: 2500, // an abandoned session ends after pingInterval + pingTimeout
  sioNsp: (rng) => rng.pick(['/', '/custom', '/chat', '/chat', '/features', '/features', '/features', `/dyn-${rng.int(50)}`]),
  sioAuth: (rng, nsp) => (nsp === '/features' ? { token: rng.weighted({ ok: 8, bad: 1, slow: 1, late: 1 }) } : { k: rng.int(100) }),
  rawNsp: (rng) => rng.pick(['/', '/chat', '/features']),
  rawPacket: (rng, nsp) => packet(rng, nsp, nsp === '/chat' ? ['echo', 'msg_to_server', 'bin_echo', 'join'] : ['message', 'message-with-ack', 'join', 'rooms', 'whatever']),
  async sioAction(rng, s, nsp) {
    if (nsp === '/' || nsp === '/custom') {
      if (rng.chance(0.5)) s.emit('message', 'x', bin(rng));
      else await ackOf(s, rng.range(1, 2000), 'message-with-ack', { a: rng.int(9) }, bin(rng));
      return;
    }
    if (nsp.startsWith('/dyn-')) { await ackOf(s, 2000, 'whoami'); return; }
    if (nsp === '/chat') {
      const a = rng.weighted({ msg: 3, echo: 2, join: 2, to_room: 2, bin_echo: 2 });
      if (a === 'msg') s.emit('msg_to_server', { text: 'hi', n: rng.int(1e6) });
      else if (a === 'echo') await ackOf(s, rng.range(1, 2000), 'echo', 'e', rng.int(9));
      else if (a === 'join') await ackOf(s, 2000, 'join', rng.pick(ROOMS));
      else if (a === 'to_room') s.emit('to_room', rng.pick(ROOMS), { t: 'room' });
      else await ackOf(s, rng.range(1, 2000), 'bin_echo', bin(rng));
      return;
    }
    // /features
    const room = rng.pick(ROOMS);
    const a = rng.weighted({
      join: 4, leave: 2, broadcast: 3, broadcast_with_ack: 3, ask: 3, notify_on_leave: 2,
      fetch_sockets: 1, sockets_join: 1, sockets_leave: 1, disconnect_sockets: 1,
      disconnect_me: 1, close_transport: 1, rooms: 1, any: 1,
    });
    switch (a) {
      case 'join': await ackOf(s, 2000, 'join', rng.chance(0.5) ? room : [room, rng.pick(ROOMS)]); break;
      case 'leave': await ackOf(s, 2000, 'leave', room); break;
      case 'broadcast':
        await ackOf(s, 3000, 'broadcast', { to: [room], broadcast: rng.chance(0.5), volatile: rng.chance(0.3), repeat: rng.range(1, 20) }, 'news', rng.chance(0.3) ? bin(rng) : 'text');
        break;
      case 'broadcast_with_ack':
        await ackOf(s, 3000, 'broadcast_with_ack', { to: [room], timeout: rng.range(1, 1000) }, 'q', 'are you there');
        break;
      case 'ask': await ackOf(s, 3000, 'ask', 'q', rng.pick([0, 1, 50, 500]), 'a', bin(rng)); break;
      case 'notify_on_leave': await ackOf(s, 2000, 'notify_on_leave', room); break;
      case 'fetch_sockets': await ackOf(s, 2000, 'fetch_sockets', { to: [room] }); break;
      case 'sockets_join': await ackOf(s, 2000, 'sockets_join', { to: [room] }, rng.pick(ROOMS)); break;
      case 'sockets_leave': await ackOf(s, 2000, 'sockets_leave', { to: [room] }, rng.pick(ROOMS)); break;
      case 'disconnect_sockets': await ackOf(s, 2000, 'disconnect_sockets', { to: [room] }, rng.chance(0.5)); break;
      case 'disconnect_me': s.emit('disconnect_me', rng.chance(0.5)); await sleep(20); break;
      case 'close_transport': s.emit('close_transport', { bye: rng.chance(0.5) }); await sleep(20); break;
      case 'rooms': await ackOf(s, 2000, 'rooms'); break;
      default: await ackOf(s, 2000, `ev${rng.int(5)}`, 'any', bin(rng));
    }
  },
  // the reproduction of the flush_all use-after-free: ~100+ clients
  // in /chat, one flooding msg_to_server, the others leaving one by one
  flood: (rng) => ({
    nsp: '/chat',
    auth: () => null,
    receivers: rng.range(100, 140),
    senders: 1,
    burst: 20,
    maxMessages: 20000,
    send: (s, k) => `42/chat,["msg_to_server",{"k":${k},"text":"flood"}]`,
  }),
  async alive(url) {
    await aliveWith(url, '/chat', null, async (s) => {
      const r = await s.timeout(10000).emitWithAck('echo', 'alive', Buffer.from([7, 8, 9]));
      if (r !== 'alive') throw new Error(`echo answered ${JSON.stringify(r)}`);
    });
  },
};

// ---- sio-chat --------------------------------------------------------------------------------------

const CHAT_ROOMS = ['lobby', 'lobby', 'c1', 'c2', 'c3'];

export const chat = {
  name: 'sio-chat',
  bin: 'sio-chat',
  args: ['--db', ':memory:', '--log-level', 'warn'],
  // chat has the library's heartbeat (25 s + 20 s): every client here closes
  // its connection, so only abandoned polling sessions outlive the run
  drainMs: 3000,
  sioNsp: () => '/chat',
  sioAuth: (rng) => (rng.chance(0.05) ? { name: rng.pick(['', ' ', 'x'.repeat(40)]) } : { name: `u${rng.int(1000)}` }),
  rawNsp: () => '/chat',
  rawPacket: (rng, nsp) => {
    const a = rng.weighted({ msg: 3, join: 2, typing: 2, history: 1 });
    const id = rng.chance(0.6) ? String(rng.int(1000)) : '';
    const room = rng.pick(CHAT_ROOMS);
    const args = a === 'msg' ? ['msg_to_server', { room, text: 'hello' }]
      : a === 'join' ? ['join', room]
        : a === 'typing' ? ['typing', { room, typing: rng.chance(0.5) }]
          : ['history', { room, after: rng.int(100) }];
    return { text: `42${prefix(nsp)}${id}${JSON.stringify(args)}` };
  },
  async sioAction(rng, s) {
    const room = rng.pick(CHAT_ROOMS);
    const a = rng.weighted({ msg: 4, join: 2, typing: 2, history: 1 });
    if (a === 'msg') await ackOf(s, rng.range(1, 2000), 'msg_to_server', { room: s.chatRoom || 'lobby', text: `m${rng.int(1e6)}` });
    else if (a === 'join') { const r = await ackOf(s, 3000, 'join', room); if (r && r.ok) s.chatRoom = room; }
    else if (a === 'typing') s.emit('typing', { room: s.chatRoom || 'lobby', typing: rng.chance(0.5) });
    else await ackOf(s, 3000, 'history', { room, after: rng.int(50) });
  },
  // everyone is in the lobby; each message goes to the whole room (20 per
  // socket per 10 s: many senders, few messages each)
  flood: (rng) => ({
    nsp: '/chat',
    auth: (i) => ({ name: `f${i}` }),
    receivers: rng.range(100, 130),
    senders: 20,
    burst: 1,
    pauseMs: 50,
    maxMessages: 20 * 20,
    leaveGapMs: 25,
    send: (s, k) => `42/chat,${k}["msg_to_server",{"room":"lobby","text":"flood ${k}"}]`,
  }),
  async alive(url) {
    await aliveWith(url, '/chat', { name: 'alive' }, async (s) => {
      const r = await s.timeout(10000).emitWithAck('join', 'lobby');
      if (!r || r.ok !== true) throw new Error(`join answered ${JSON.stringify(r)}`);
    });
  },
};

// ---- chaos-server ----------------------------------------------------------------------------------

// A random program for chaos-server (see tests/helpers/chaos_server.c).
// skip: ops not to generate (e.g. a known bug being fixed elsewhere).
export function program(rng, depth = 0, skip = new Set(), { self = true } = {}) {
  const ops = [];
  const room = () => rng.pick(ROOMS);
  for (let i = rng.range(1, depth ? 2 : 4); i > 0; i--) {
    const kind = rng.weighted({
      emit: 3, join: 3, leave: 2, bcast: 3, bcast_ack: depth < 2 ? 2 : 0, ask: depth < 2 ? 2 : 0,
      disconnect: self ? 1 : 0, disconnect_room: 1, sockets_join: 1, sockets_leave: 1,
      fetch: depth < 2 ? 1 : 0, close_transport: self ? 1 : 0, on_disconnect: depth < 2 ? 2 : 0,
    });
    if (skip.has(kind) || (kind === 'close_transport' && skip.has('close'))) continue;
    const close = () => !skip.has('close') && rng.chance(0.5);
    const then = () => program(rng, depth + 1, skip);
    switch (kind) {
      case 'emit': ops.push({ op: 'emit', event: 'chaos', bin: rng.chance(0.3) }); break;
      case 'join': case 'leave': ops.push({ op: kind, room: room() }); break;
      case 'bcast': ops.push({ op: 'bcast', room: room(), self: rng.chance(0.5), volatile: rng.chance(0.3), bin: rng.chance(0.3) }); break;
      case 'bcast_ack': ops.push({ op: 'bcast_ack', room: room(), timeout: rng.range(1, 800), then: then() }); break;
      case 'ask': ops.push({ op: 'ask', timeout: rng.pick([0, 1, 100, 800]), bin: rng.chance(0.3), then: then() }); break;
      case 'disconnect': ops.push({ op: 'disconnect', close: close() }); break;
      case 'disconnect_room': ops.push({ op: 'disconnect_room', room: room(), close: close() }); break;
      case 'sockets_join': case 'sockets_leave': ops.push({ op: kind, room: room(), target: room() }); break;
      case 'fetch': ops.push({ op: 'fetch', room: room(), each: program(rng, depth + 1, skip, { self: true }) }); break;
      case 'close_transport': ops.push({ op: 'close_transport' }); break;
      default: ops.push({ op: 'on_disconnect', then: then() });
    }
  }
  return ops;
}

export function chaosServer(skip) {
  return {
    name: 'chaos-server',
    bin: 'chaos-server',
    args: ['--ping-interval', '600', '--ping-timeout', '1200', '--connect-timeout', '1500'],
    drainMs: 2500,
    sioNsp: (rng) => rng.pick(['/', '/chaos']),
    sioAuth(rng) {
      const auth = {};
      if (rng.chance(0.5)) {
        auth.mw = {
          ops: rng.chance(0.5) && !skip.has('mw') ? program(rng, 1, skip) : [],
          result: rng.weighted({ accept: 6, reject: 1, 'later-accept': 2, 'later-reject': 1 }),
          delay: rng.int(200),
        };
      }
      if (rng.chance(0.6)) auth.onconnect = program(rng, 0, skip);
      return auth;
    },
    rawNsp: (rng) => rng.pick(['/', '/chaos']),
    rawPacket: (rng, nsp) => {
      if (rng.chance(0.3)) return packet(rng, nsp, ['echo']);
      const id = rng.chance(0.5) ? String(rng.int(1000)) : '';
      return { text: `42${prefix(nsp)}${id}${JSON.stringify(['do', program(rng, 0, skip)])}` };
    },
    async sioAction(rng, s) {
      if (rng.chance(0.2)) await ackOf(s, rng.range(1, 2000), 'echo', 'e', bin(rng));
      else if (rng.chance(0.5)) await ackOf(s, rng.range(1, 3000), 'do', program(rng, 0, skip));
      else s.emit('do', program(rng, 0, skip));
    },
    // a room of >= 100 joined from the connect handler; broadcasts (with and
    // without acks, whose collectors run more ops) from event handlers, while
    // receivers leave one by one and answer acks or not
    flood: (rng) => ({
      nsp: '/chaos',
      auth: (i) => (i === 0 ? {} : { onconnect: [{ op: 'join', room: 'big' }] }),
      receivers: rng.range(100, 130),
      senders: 1,
      burst: 10,
      maxMessages: 8000,
      onEvent: (r) => () => (r.chance(0.7) ? ['ok'] : undefined),
      send: (s, k, r) => {
        const op = r.chance(0.15)
          ? { op: 'bcast_ack', room: 'big', timeout: r.range(1, 500), then: r.chance(0.3) ? [{ op: 'bcast', room: 'big' }] : [] }
          : { op: 'bcast', room: 'big', bin: r.chance(0.2), self: true };
        return `42/chaos,${JSON.stringify(['do', [op]])}`;
      },
    }),
    async alive(url) {
      await aliveWith(url, '/chaos', {}, async (s) => {
        const r = await s.timeout(10000).emitWithAck('echo', 'alive');
        if (r !== 'alive') throw new Error(`echo answered ${JSON.stringify(r)}`);
      });
    },
  };
}
