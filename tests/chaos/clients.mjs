// The chaos test's clients, each a bounded random walk chosen by its own
// seeded generator. They never decide pass or fail: errors, refusals and
// timeouts are what chaos is made of; the servers' health is judged in
// chaos.mjs. Every socket an actor opens is registered in ctx.bag so that an
// actor cut off at its time limit leaves nothing open.
//
//   sioActor     the official socket.io-client: polling, websocket or upgrade;
//                ends by disconnect, FIN, RST or close frame, sometimes while
//                connecting or while upgrading
//   rawWsActor   `ws` speaking Engine.IO/Socket.IO by hand; ends at a random
//                stage (opening handshake, before CONNECT, before its answer,
//                after events and binary attachments)
//   rawPollActor Engine.IO polling over keep-alive HTTP/1.1: ends during a
//                pending GET (FIN, RST, or a close packet POSTed beside it),
//                or in the middle of an upgrade (after 2probe/3probe, before
//                or right after 5)
//   rawTcpActor  node:net: partial request heads, upgrade requests cut before
//                the 101 or inside a frame, pipelined requests never read
//   flood        N >= 100 WebSocket clients in one room, one (or several)
//                senders flooding it, receivers leaving one by one
import net from 'node:net';
import WebSocket from 'ws';
import { io } from 'socket.io-client';
import { cut, sleep, within } from './lib.mjs';

const SEP = '\x1e';

export const HOW = ['close', 'fin', 'rst', 'terminate'];

// Ends a `ws` WebSocket: a close frame, FIN, RST, or terminate (destroy).
export function endWs(ws, how) {
  try {
    if (how === 'close') ws.close(1000);
    else if (how === 'terminate' || !ws._socket) ws.terminate();
    else cut(ws._socket, how);
  } catch {
    try { ws.terminate(); } catch { /* already gone */ }
  }
}

const nspPrefix = (nsp) => (nsp === '/' ? '' : `${nsp},`);

// A Socket.IO client over a raw WebSocket: answers pings, parses only what it
// needs (ack ids). onEvent(name, argsText, id) may return an answer for an ack
// (an array), or undefined.
export class RawSio {
  constructor(url, nsp, auth, { onEvent = null, ackRate = 1 } = {}) {
    this.nsp = nsp;
    this.prefix = nspPrefix(nsp);
    this.received = 0;
    this.closed = false;
    this.onEvent = onEvent;
    this.ws = new WebSocket(`${url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`, { perMessageDeflate: false });
    this.ws.on('error', () => {});
    this.connected = new Promise((resolve, reject) => {
      this.ws.on('message', (data, isBinary) => {
        this.received++;
        if (isBinary) return;
        const s = data.toString();
        if (s === '2') { this.send('3'); return; }
        if (s[0] === '0') { this.send(`40${this.prefix}${auth ? JSON.stringify(auth) : ''}`); return; }
        if (s.startsWith(`40${this.prefix}`)) { resolve(this); return; }
        if (s.startsWith(`44${this.prefix}`)) { reject(new Error(`connect_error ${s}`)); return; }
        if (s.startsWith('41') && s.startsWith(`41${this.prefix}`)) { this.kicked = true; return; }
        if ((s.startsWith('42') || s.startsWith('45')) && this.onEvent) this.#event(s);
      });
      this.ws.on('close', () => { this.closed = true; reject(new Error('closed before CONNECT')); });
    });
    this.connected.catch(() => {});
  }
  #event(s) {
    let i = 2 + (s.startsWith('45') ? s.indexOf('-') - 1 : 0);
    if (s.startsWith(this.prefix, i)) i += this.prefix.length;
    let j = i;
    while (s.charCodeAt(j) >= 48 && s.charCodeAt(j) <= 57) j++;
    const id = j > i ? s.slice(i, j) : null;
    const answer = this.onEvent(s.slice(j), id);
    if (id !== null && answer !== undefined) this.send(`43${this.prefix}${id}${JSON.stringify(answer)}`);
  }
  send(packet) {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(packet);
  }
  emit(event, ...args) {
    this.send(`42${this.prefix}${JSON.stringify([event, ...args])}`);
  }
  // An event with one binary attachment (and an ack id when id is given).
  emitBinary(event, buf, id = '') {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(`451-${this.prefix}${id}${JSON.stringify([event, { _placeholder: true, num: 0 }])}`);
    this.ws.send(buf);
  }
  get bufferedAmount() { return this.ws.bufferedAmount; }
  end(how) { endWs(this.ws, how); }
}

// ---- the official client ---------------------------------------------------------------------

const MODES = [['polling'], ['websocket'], ['polling', 'websocket']];

// The net.Socket under the client's current WebSocket transport, if any.
function wsSocketOf(s) {
  const t = s.io && s.io.engine && s.io.engine.transport;
  return t && t.name === 'websocket' && t.ws ? t.ws : null;
}

export async function sioActor(ctx) {
  const { rng, profile, url, log } = ctx;
  const transports = rng.pick(MODES);
  const nsp = profile.sioNsp(rng);
  const auth = profile.sioAuth(rng, nsp);
  const s = io(url + nsp, { transports, forceNew: true, reconnection: false, timeout: 5000, auth });
  ctx.bag.add(() => s.close());
  // answers to the server's own emits with an acknowledgement: at once, late, or never
  s.onAny((...args) => {
    const cb = args[args.length - 1];
    if (typeof cb !== 'function') return;
    const r = rng.next();
    if (r < 0.6) cb('answer', Buffer.from([1, 2, 3]));
    else if (r < 0.8) setTimeout(() => cb('late'), rng.int(300));
  });
  log(`sio ${transports.join('+')} ${nsp} auth=${JSON.stringify(auth)}`);
  const how = rng.weighted({ disconnect: 4, fin: 2, rst: 2, close: 2, upgrade: transports.length === 2 ? 2 : 0, early: 1 });
  if (how === 'upgrade') {
    // cut the probe WebSocket while the upgrade is under way
    const cutHow = rng.pick(HOW);
    s.io.engine.once('upgrading', (t) => { log(`sio cut upgrade ${cutHow}`); if (t.ws) endWs(t.ws, cutHow); });
  }
  if (how === 'early') {
    await sleep(rng.int(30));
    log('sio close while connecting');
    s.close();
    return;
  }
  const ok = await within(new Promise((resolve) => {
    s.once('connect', () => resolve(true));
    s.once('connect_error', () => resolve(false));
    s.once('disconnect', () => resolve(false));
  }), 8000, 'connect').catch(() => false);
  if (!ok) { s.close(); return; }
  const actions = rng.range(1, 8);
  const pending = [];
  for (let i = 0; i < actions && s.connected; i++) {
    const p = profile.sioAction(rng, s, nsp, ctx).catch(() => {});
    if (rng.chance(0.3)) pending.push(p); else await p;
    if (rng.chance(0.5)) await sleep(rng.int(100));
  }
  if (rng.chance(0.5)) await Promise.all(pending);
  const ws = wsSocketOf(s);
  if (how !== 'disconnect' && how !== 'upgrade' && ws) {
    log(`sio end ${how}`);
    endWs(ws, how);
    await sleep(rng.int(50));
  }
  s.close();
}

// Awaits an acknowledgement with a timeout; null when none came.
export async function ackOf(s, timeoutMs, event, ...args) {
  try {
    return await s.timeout(timeoutMs).emitWithAck(event, ...args);
  } catch {
    return null;
  }
}

// ---- raw WebSocket -----------------------------------------------------------------------------

export async function rawWsActor(ctx) {
  const { rng, profile, url, log } = ctx;
  const nsp = profile.rawNsp(rng);
  const stage = rng.weighted({ handshake: 2, open: 1, connect: 2, events: 5 });
  const how = rng.pick(HOW);
  log(`rawws ${nsp} end at ${stage} by ${how}`);
  const c = new RawSio(url, nsp, profile.sioAuth(rng, nsp), { onEvent: () => (rng.chance(0.7) ? ['ok'] : undefined) });
  ctx.bag.add(() => c.ws.terminate());
  if (stage === 'handshake') {
    // before or right at the 101: the server may see a request cut short
    if (rng.chance(0.5)) c.ws.once('upgrade', () => endWs(c.ws, how));
    else setTimeout(() => endWs(c.ws, how === 'close' ? 'terminate' : how), rng.int(3));
    await sleep(20);
    c.ws.terminate();
    return;
  }
  if (stage === 'open') {
    await within(new Promise((r) => c.ws.once('message', r)), 5000, 'open').catch(() => {});
    endWs(c.ws, how);
    return;
  }
  if (stage === 'connect') {
    await within(new Promise((r) => c.ws.once('message', r)), 5000, 'open').catch(() => {});
    await sleep(rng.int(3));
    endWs(c.ws, how);
    return;
  }
  if (!(await within(c.connected, 8000, 'connect').then(() => true, () => false))) { c.ws.terminate(); return; }
  const n = rng.range(1, 20);
  for (let i = 0; i < n && !c.closed; i++) {
    const p = profile.rawPacket(rng, nsp);
    if (p.binary) c.emitBinary(p.event, p.binary, p.id ?? '');
    else c.send(p.text);
    if (rng.chance(0.3)) await sleep(rng.int(30));
  }
  await sleep(rng.int(100));
  endWs(c.ws, how);
}

// ---- raw polling ---------------------------------------------------------------------------------

// One keep-alive HTTP/1.1 connection: request(), with the response read by
// Content-Length. Good enough for the Engine.IO route's answers.
class Http {
  constructor(port) {
    this.port = port;
    this.sock = net.connect({ port, host: '127.0.0.1' });
    this.sock.on('error', () => {});
    this.buf = Buffer.alloc(0);
    this.waiter = null;
    this.closed = false;
    this.sock.on('data', (d) => { this.buf = Buffer.concat([this.buf, d]); this.#pump(); });
    this.sock.on('close', () => { this.closed = true; this.#pump(); });
  }
  #pump() {
    if (!this.waiter) return;
    const end = this.buf.indexOf('\r\n\r\n');
    if (end >= 0) {
      const head = this.buf.subarray(0, end).toString('latin1');
      const status = Number(head.split(' ')[1]);
      const m = /content-length:\s*(\d+)/i.exec(head);
      const len = m ? Number(m[1]) : 0;
      if (this.buf.length >= end + 4 + len) {
        const body = this.buf.subarray(end + 4, end + 4 + len).toString();
        this.buf = this.buf.subarray(end + 4 + len);
        const w = this.waiter;
        this.waiter = null;
        w({ status, body });
        return;
      }
    }
    if (this.closed) { const w = this.waiter; this.waiter = null; w(null); }
  }
  request(method, query, body = null) {
    const b = body === null ? null : Buffer.from(body);
    let head = `${method} /socket.io/?${query} HTTP/1.1\r\nHost: 127.0.0.1\r\n`;
    if (b) head += `Content-Type: text/plain;charset=UTF-8\r\nContent-Length: ${b.length}\r\n`;
    this.sock.write(b ? Buffer.concat([Buffer.from(`${head}\r\n`), b]) : `${head}\r\n`);
    return new Promise((resolve) => { this.waiter = resolve; this.#pump(); });
  }
}

export async function rawPollActor(ctx) {
  const { rng, profile, port, url, log } = ctx;
  const nsp = profile.rawNsp(rng);
  const ending = rng.weighted({ pendingCut: 3, pendingClose: 2, upgradeCut: 3, upgradeDone: 2, abandon: 1 });
  const how = rng.pick(['fin', 'rst', 'destroy']);
  log(`rawpoll ${nsp} ${ending} ${how}`);
  const a = new Http(port);
  const b = new Http(port);
  ctx.bag.add(() => { a.sock.destroy(); b.sock.destroy(); });
  const open = await within(a.request('GET', 'EIO=4&transport=polling'), 8000, 'handshake');
  if (!open || open.status !== 200 || open.body[0] !== '0') { a.sock.destroy(); b.sock.destroy(); return; }
  const sid = JSON.parse(open.body.slice(1)).sid;
  const q = `EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`;
  const auth = profile.sioAuth(rng, nsp);
  const packets = [`40${nspPrefix(nsp)}${auth ? JSON.stringify(auth) : ''}`];
  for (let i = rng.int(4); i > 0; i--) {
    const p = profile.rawPacket(rng, nsp);
    if (p.binary) packets.push(p.text0, `b${p.binary.toString('base64')}`);
    else packets.push(p.text);
  }
  await within(b.request('POST', q, packets.join(SEP)), 8000, 'post');
  // a GET now gets the CONNECT answer (and maybe more); the next one waits
  await within(a.request('GET', q), 8000, 'poll').catch(() => null);
  const pending = a.request('GET', q);
  pending.catch(() => {});
  await sleep(rng.int(20));
  if (ending === 'pendingCut') {
    cut(a.sock, how);
    await sleep(rng.int(20));
  } else if (ending === 'pendingClose') {
    await within(b.request('POST', q, '1'), 5000, 'close').catch(() => null);
    await within(pending, 5000, 'pending').catch(() => null);
  } else if (ending === 'upgradeCut' || ending === 'upgradeDone') {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket&sid=${encodeURIComponent(sid)}`, { perMessageDeflate: false });
    ws.on('error', () => {});
    ctx.bag.add(() => ws.terminate());
    const probed = await within(new Promise((resolve) => {
      ws.once('open', () => ws.send('2probe'));
      ws.on('message', (d) => { if (d.toString() === '3probe') resolve(true); });
      ws.once('close', () => resolve(false));
    }), 5000, 'probe').catch(() => false);
    const wsHow = rng.pick(HOW);
    if (probed && ending === 'upgradeDone') {
      ws.send('5');
      if (rng.chance(0.5)) ws.send(`42${nspPrefix(nsp)}["echo","after upgrade"]`);
      await sleep(rng.int(30));
    }
    if (rng.chance(0.5)) cut(a.sock, how);
    endWs(ws, wsHow);
    await sleep(rng.int(20));
  }
  // 'abandon': the session is left to its heartbeat
  a.sock.destroy();
  b.sock.destroy();
}

// ---- raw TCP ---------------------------------------------------------------------------------------

const UPGRADE = (key = 'dGhlIHNhbXBsZSBub25jZQ==') =>
  'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n' +
  `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`;

// A masked client frame.
function frame(opcode, payload, fin = true) {
  const data = Buffer.from(payload);
  const head = data.length < 126 ? Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | data.length])
    : Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | 126, data.length >> 8, data.length & 255]);
  const mask = Buffer.from([1, 2, 3, 4]);
  const body = Buffer.from(data.map((b, i) => b ^ mask[i & 3]));
  return Buffer.concat([head, mask, body]);
}

export async function rawTcpActor(ctx) {
  const { rng, port, log } = ctx;
  const kind = rng.weighted({ partialHead: 2, upgradeNoRead: 2, midFrame: 2, pipelined: 2, connectOnly: 1, badFrame: 1 });
  const how = rng.pick(['fin', 'rst', 'destroy']);
  log(`rawtcp ${kind} ${how}`);
  const sock = net.connect({ port, host: '127.0.0.1' });
  sock.on('error', () => {});
  sock.on('data', () => {});
  ctx.bag.add(() => sock.destroy());
  const connected = await within(new Promise((r) => sock.once('connect', () => r(true))), 5000, 'tcp').catch(() => false);
  if (!connected) { sock.destroy(); return; }
  const up = UPGRADE();
  if (kind === 'partialHead') {
    const req = rng.chance(0.5) ? up : 'GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
    sock.write(req.slice(0, 1 + rng.int(req.length - 2)));
  } else if (kind === 'upgradeNoRead') {
    sock.write(up);
  } else if (kind === 'midFrame') {
    sock.write(up);
    await sleep(rng.int(20));
    const f = frame(1, `42["echo","${'x'.repeat(rng.int(300))}"]`);
    sock.write(f.subarray(0, 1 + rng.int(f.length - 1)));
  } else if (kind === 'badFrame') {
    sock.write(up);
    await sleep(rng.int(20));
    sock.write(rng.chance(0.5) ? Buffer.from([0x81, 0x05, 0x68, 0x65]) /* unmasked */ : frame(rng.pick([3, 0xb, 0x9]), 'x', rng.chance(0.5)));
  } else if (kind === 'pipelined') {
    // a few requests at once, none read; the static bundle is the large answer
    const paths = ['/socket.io/?EIO=4&transport=polling', '/socket.io/socket.io.js', '/socket.io/socket.io.min.js', '/nothing-here'];
    let s = '';
    for (let i = rng.range(2, 5); i > 0; i--) s += `GET ${rng.pick(paths)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
    sock.write(s);
  }
  await sleep(rng.int(40));
  cut(sock, how);
}

// ---- a flooded room of >= 100 ----------------------------------------------------------------------

// spec: {nsp, auth(i), receivers, send(sender, k, rng) (one packet), burst,
//        maxMessages, senders, onEvent(rng) (ack answers), joinOnConnect(client) (optional)}
export async function flood(ctx, spec) {
  const { rng, url, log } = ctx;
  const n = spec.receivers;
  log(`flood ${spec.nsp}: ${n} receivers, ${spec.senders} sender(s)`);
  const clients = [];
  for (let i = 0; i < n + spec.senders; i++) {
    const c = new RawSio(url, spec.nsp, spec.auth(i), { onEvent: spec.onEvent ? spec.onEvent(rng) : null });
    ctx.bag.add(() => c.ws.terminate());
    clients.push(c);
    if (i % 25 === 24) await sleep(10);
  }
  const up = await Promise.all(clients.map((c) => within(c.connected, 15000, 'flood connect').then(() => c, () => null)));
  const live = up.filter(Boolean);
  if (spec.afterConnect) await spec.afterConnect(live);
  const senders = live.slice(0, spec.senders);
  const receivers = live.slice(spec.senders);
  log(`flood ${spec.nsp}: ${receivers.length} receivers connected`);
  let sent = 0;
  let stop = false;
  const sending = (async () => {
    while (!stop && sent < spec.maxMessages && !senders.every((s) => s.closed)) {
      for (const s of senders) {
        for (let i = 0; i < spec.burst && !s.closed; i++) {
          if (s.bufferedAmount > 1 << 20) break; // the server reads slower than we write
          s.send(spec.send(s, sent++, rng));
        }
      }
      await new Promise((r) => setImmediate(r));
      if (spec.pauseMs) await sleep(spec.pauseMs);
    }
  })();
  // receivers leave one at a time while the room is busy
  await sleep(rng.range(20, 200));
  const order = receivers.slice();
  for (let i = order.length - 1; i > 0; i--) { const j = rng.int(i + 1); [order[i], order[j]] = [order[j], order[i]]; }
  for (const c of order) {
    if (ctx.stopped()) break;
    c.end(rng.pick(HOW));
    await sleep(rng.int(spec.leaveGapMs ?? 15));
  }
  stop = true;
  await sending;
  const got = receivers.reduce((a, c) => a + c.received, 0);
  log(`flood ${spec.nsp}: sent ${sent}, receivers got ${got}`);
  for (const s of senders) s.end(rng.pick(HOW));
  await sleep(50);
  for (const c of clients) c.ws.terminate();
}
