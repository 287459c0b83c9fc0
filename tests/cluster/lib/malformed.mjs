// Malformed messages to inject on a cluster's Redis channels (PUBLISH), each
// with what a Node node (socket.io 4.8.4 + @socket.io/redis-adapter 8.3.0 +
// redis 4.7) does with it, as measured by tests/cluster/probe-malformed.mjs:
//   node: 'survives'  dropped (or delivered harmlessly); the node keeps serving
//   node: 'crashes'   the Node process exits (an exception thrown in the Redis
//                     client's message callback, or an unhandled rejection
//                     from the adapter's async request handler)
// A C node must survive every one of them (issue 14: dropped with a log line).
// The Node-only test injects the 'survives' ones; the mixed-cluster tests can
// inject all of them into C nodes, the 'crashes' ones only where no Node node
// listens (another `key`, or a cluster with C nodes only).
//
// Channels are built for namespace `nsp` with prefix `key` (default socket.io);
// `room` is a room that the receiving node has a socket in (a broadcast on a
// room channel is decoded only by nodes that have that room).
import { encode, raw, arr, broadcast } from './msgpack.mjs';

const bc = (key, nsp) => `${key}#${nsp}#`;
const bcRoom = (key, nsp, room) => `${key}#${nsp}#${room}#`;
const req = (key, nsp) => `${key}-request#${nsp}#`;
const res = (key, nsp) => `${key}-response#${nsp}#`;
const json = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
const pkt = (nsp) => ({ type: 2, data: ['msg', 'injected'], nsp });

export const MALFORMED = [
  // ---- broadcast channels (always MessagePack, no sniffing, no try/catch on Node) ----
  { name: 'broadcast: not MessagePack (c1)', node: 'crashes',
    channel: bc, payload: () => Buffer.from([0xc1]) },
  { name: 'broadcast: JSON text', node: 'crashes',
    channel: bc, payload: (nsp) => json(['x', pkt(nsp), { rooms: [], except: [] }]) },
  { name: 'broadcast: empty payload', node: 'crashes',
    channel: bc, payload: () => Buffer.alloc(0) },
  { name: 'broadcast: truncated MessagePack', node: 'crashes',
    channel: bc, payload: (nsp) => broadcast('XXXXXX', nsp, ['msg', 'cut']).subarray(0, 20) },
  { name: 'broadcast: array32 claiming 2^32-1 elements', node: 'crashes',
    channel: bc, payload: () => Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0]) },
  { name: 'broadcast: str32 claiming 4 GiB', node: 'crashes',
    channel: bc, payload: () => Buffer.from([0x93, 0xdb, 0xff, 0xff, 0xff, 0xff, 0x41]) },
  { name: 'broadcast: [uid, packet] without opts', node: 'crashes',
    channel: bc, payload: (nsp) => encode(['XXXXXX', pkt(nsp)]) },
  { name: 'broadcast: nil', node: 'crashes',
    channel: bc, payload: () => encode(null) },
  { name: 'broadcast: packet is a string', node: 'crashes',
    channel: bc, payload: () => encode(['XXXXXX', 'packet', { rooms: [], except: [] }]) },
  { name: 'broadcast: rooms is a number', node: 'crashes',
    channel: bc, payload: (nsp) => encode(['XXXXXX', pkt(nsp), { rooms: 5, except: [] }]) },
  { name: 'broadcast: garbage on a room channel of a room the node has', node: 'crashes',
    channel: bcRoom, payload: () => Buffer.from([0xc1]) },

  { name: 'broadcast: garbage on a room channel of a room nobody has', node: 'survives',
    channel: (key, nsp) => bcRoom(key, nsp, 'no-such-room'), payload: () => Buffer.from([0xc1]) },
  { name: 'broadcast: another namespace in the packet', node: 'survives',
    channel: bc, payload: () => broadcast('XXXXXX', '/elsewhere', ['msg', 'wrong nsp']) },
  { name: 'broadcast: packet without nsp (taken as "/")', node: 'survives',
    channel: bc, payload: () => encode(['XXXXXX', { type: 2, data: ['msg', 'no nsp'] }, { rooms: [], except: [] }]) },
  { name: 'broadcast: packet is nil', node: 'survives',
    channel: bc, payload: () => encode(['XXXXXX', null, { rooms: [], except: [] }]) },
  { name: 'broadcast: a 1-element array', node: 'survives',
    channel: bc, payload: () => encode(['XXXXXX']) },
  { name: 'broadcast: a number', node: 'crashes',
    channel: bc, payload: () => encode(42) },
  { name: 'broadcast: to a room nobody is in, unknown flags', node: 'survives',
    channel: bc, payload: (nsp) => broadcast('XXXXXX', nsp, ['msg', 'nobody'], { rooms: ['no-such-room'], flags: { bogus: [1, 2] } }) },
  { name: 'broadcast: array16 with trailing bytes', node: 'crashes',
    channel: bc, payload: (nsp) => Buffer.concat([encode(arr(['XXXXXX', pkt(nsp), { rooms: ['no-such-room'], except: [] }], 16)), Buffer.from([0xc0])]) },

  // ---- request channel (JSON if the first byte is '{', else MessagePack; parse errors caught) ----
  { name: 'request: not MessagePack (c1)', node: 'survives',
    channel: req, payload: () => Buffer.from([0xc1]) },
  { name: 'request: truncated JSON', node: 'survives',
    channel: req, payload: () => json('{"uid":"XXXXXX","type":') },
  { name: 'request: unknown type', node: 'survives',
    channel: req, payload: () => json({ uid: 'XXXXXX', requestId: 'zzzzzz', type: 99 }) },
  { name: 'request: type 6 without data', node: 'survives',
    channel: req, payload: () => json({ uid: 'XXXXXX', type: 6 }) },
  { name: 'request: JSON array', node: 'survives',
    channel: req, payload: () => json([1, 2, 3]) },
  { name: 'request: type 5 without opts', node: 'crashes',
    channel: req, payload: () => json({ uid: 'XXXXXX', requestId: 'zzzzzz', type: 5 }) },
  { name: 'request: type 7 without opts', node: 'crashes',
    channel: req, payload: (nsp) => encode({ uid: 'XXXXXX', requestId: 'zzzzzz', type: 7, packet: pkt(nsp) }) },
  { name: 'request: type 2 without opts', node: 'survives',
    channel: req, payload: () => json({ uid: 'XXXXXX', type: 2, rooms: ['x'] }) },
  { name: 'request: MessagePack nil', node: 'crashes',
    channel: req, payload: () => encode(null) },

  // ---- response channel ----
  { name: 'response: not MessagePack (c1)', node: 'survives',
    channel: res, payload: () => Buffer.from([0xc1]) },
  { name: 'response: unknown requestId', node: 'survives',
    channel: res, payload: () => json({ requestId: 'zzzzzz', sockets: [] }) },
  { name: 'response: MessagePack nil', node: 'crashes',
    channel: res, payload: () => encode(null) },
  { name: 'response: raw bytes of a bin8 overrunning', node: 'survives',
    channel: res, payload: () => encode(raw([0xc4, 0x10, 0x01])) },
];

// The channel and payload of input `m` for namespace `nsp` on prefix `key`,
// `room` being a room the receiving node has a socket in.
export function materialize(m, { nsp = '/chat', key = 'socket.io', room = 'r' } = {}) {
  const channel = m.channel.length === 3 ? m.channel(key, nsp, room) : m.channel(key, nsp);
  return { name: m.name, node: m.node, channel, payload: m.payload(nsp) };
}
