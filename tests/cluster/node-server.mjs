// The reference Node node of the cluster tests: a socket.io 4.8 server on
// @socket.io/redis-adapter 8 (createAdapter(pub, sub), two Redis connections),
// with the /chat contract that `sio-test-server --redis` implements too, so a
// test can start either kind of node and drive it the same way.
//
//   node tests/cluster/node-server.mjs --redis redis://127.0.0.1:PORT
//        [--redis-key KEY] [--port N] [--server-id ID] [--requests-timeout MS]
//   (or SIO_REDIS_URL, SIO_REDIS_KEY, SIO_SERVER_ID in the environment)
//
// It prints "listening on PORT" once the HTTP port is bound AND the /chat
// adapter's subscriptions are in place on Redis (a publication made after that
// line reaches it), and "redis <pub|sub> <state>" on each change of a Redis
// connection's state. SIGTERM or SIGINT closes everything and exits 0.
//
// /chat, today's contract of sio-test-server:
//   msg_to_server(...d)          -> msg_to_client(...d) to all of /chat
//   echo(...args, ack)           -> ack(...args)
//   join(room, ack)              -> a local join, ack(true)
//   to_room(room, d)             -> room_msg(d) to that room
//   bin_echo(...args, ack)       -> ack(...args)
// and, cluster-wide (issue 14):
//   to_all(...d)                 -> msg(...d) to all (binary passes through)
//   count(ack)                   -> ack(number of /chat sockets, fetchSockets), ack(-1) on error
//   ids(ack)                     -> ack([their ids]), ack(null) on error
//   count_room(room, ack)        -> ack(number of sockets in room), ack(-1) on error
//   kick_room(room, ack)         -> disconnectSockets(false) of room, ack(true)
//   sockets_join(room, new, ack) -> socketsJoin(new) of room, ack(true)
//   ping_servers(ack)            -> serverSideEmitWithAck('hello'): ack(n, [replies]), ack(-1) on error
//   (server side) hello(cb)      -> cb(server id)
//   ask_all(ack)                 -> 3 s broadcast-with-ack of 'question' to all: ack([answers]), ack(null) on error
//   ask_room(room, ack)          -> the same to a room
//   to_others(d)                 -> others_msg(d) to all but the sender
//   except_room(room, d)         -> others_msg(d) to all but that room
//   whoami(ack)                  -> ack(server id)
import http from 'node:http';
import { parseArgs } from 'node:util';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { createClient } from 'redis';

const { values: opt } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    redis: { type: 'string', default: process.env.SIO_REDIS_URL },
    'redis-key': { type: 'string', default: process.env.SIO_REDIS_KEY },
    'server-id': { type: 'string', default: process.env.SIO_SERVER_ID },
    'requests-timeout': { type: 'string', default: '5000' },
  },
});
if (!opt.redis) {
  console.error('usage: node-server.mjs --redis redis://HOST:PORT [--redis-key K] [--port N] [--server-id ID]');
  process.exit(2);
}
const serverId = opt['server-id'] || `node-${process.pid}`;

// Both connections reconnect on their own (node-redis' default strategy);
// their state changes are logged once each.
function redisClient(name) {
  const c = createClient({ url: opt.redis });
  let state = '';
  const log = (s, detail = '') => {
    if (s === state) return;
    state = s;
    console.log(`redis ${name} ${s}${detail ? ` (${detail})` : ''}`);
  };
  c.on('error', (e) => log('error', e.message || e.code || String(e)));
  c.on('reconnecting', () => log('reconnecting'));
  c.on('ready', () => log('ready'));
  c.on('end', () => log('end'));
  return c;
}
const pub = redisClient('pub');
const sub = redisClient('sub');
await Promise.all([pub.connect(), sub.connect()]);

const httpServer = http.createServer();
const io = new Server(httpServer, {
  adapter: createAdapter(pub, sub, {
    key: opt['redis-key'] || undefined,
    requestsTimeout: Number(opt['requests-timeout']),
  }),
  pingInterval: 2000,
  pingTimeout: 3000,
});

const chat = io.of('/chat');
chat.on('hello', (cb) => cb(serverId));

// A missing acknowledgement callback is a client's mistake, not a crash.
const cb = (f) => (typeof f === 'function' ? f : () => {});

chat.on('connection', (socket) => {
  const isRoom = (r) => typeof r === 'string' || typeof r === 'number';
  socket.on('msg_to_server', (...d) => chat.emit('msg_to_client', ...d));
  socket.on('echo', (...args) => {
    const ack = args.pop();
    if (typeof ack === 'function') ack(...args);
  });
  socket.on('join', (room, ack) => {
    if (!isRoom(room)) return;
    socket.join(room);
    cb(ack)(true);
  });
  socket.on('to_room', (room, d) => {
    if (isRoom(room)) chat.to(room).emit('room_msg', d);
  });
  socket.on('bin_echo', (...args) => {
    const ack = args.pop();
    if (typeof ack === 'function') ack(...args);
  });
  socket.on('to_all', (...d) => chat.emit('msg', ...d));
  socket.on('whoami', (ack) => cb(ack)(serverId));

  socket.on('count', (a) => {
    const ack = cb(a);
    chat.fetchSockets().then((s) => ack(s.length), () => ack(-1));
  });
  socket.on('ids', (a) => {
    const ack = cb(a);
    chat.fetchSockets().then((s) => ack(s.map((x) => x.id)), () => ack(null));
  });
  socket.on('count_room', (room, a) => {
    const ack = cb(a);
    chat.in(room).fetchSockets().then((s) => ack(s.length), () => ack(-1));
  });
  socket.on('kick_room', (room, ack) => {
    chat.in(room).disconnectSockets(false);
    cb(ack)(true);
  });
  socket.on('sockets_join', (room, newRoom, ack) => {
    chat.in(room).socketsJoin(newRoom);
    cb(ack)(true);
  });
  socket.on('ping_servers', (a) => {
    const ack = cb(a);
    chat.serverSideEmitWithAck('hello').then((replies) => ack(replies.length, replies), () => ack(-1));
  });
  socket.on('ask_all', (a) => {
    const ack = cb(a);
    chat.timeout(3000).emitWithAck('question').then(ack, () => ack(null));
  });
  socket.on('ask_room', (room, a) => {
    const ack = cb(a);
    chat.to(room).timeout(3000).emitWithAck('question').then(ack, () => ack(null));
  });
  socket.on('to_others', (d) => socket.broadcast.emit('others_msg', d));
  socket.on('except_room', (room, d) => chat.except(room).emit('others_msg', d));
});

// Ready when /chat's adapter holds its subscriptions: its private response
// channel is subscribed by the same SUBSCRIBE as the request channel, after
// the PSUBSCRIBE of the broadcast channels, on the same connection.
const uidChannel = chat.adapter.specificResponseChannel;
for (let i = 0; ; i++) {
  const [, n] = await pub.sendCommand(['PUBSUB', 'NUMSUB', uidChannel]);
  if (Number(n) === 1) break;
  if (i === 500) {
    console.error(`no subscription to ${uidChannel} after 5 s`);
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 10));
}
httpServer.listen(Number(opt.port), '127.0.0.1', () => {
  console.log(`listening on ${httpServer.address().port}`);
});

let closing = false;
async function shutdown() {
  if (closing) return;
  closing = true;
  io.close();
  // QUIT waits for a reply, which never comes while Redis is down.
  const quit = Promise.allSettled([pub.quit(), sub.quit()]);
  await Promise.race([quit, new Promise((r) => setTimeout(r, 1000))]);
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
