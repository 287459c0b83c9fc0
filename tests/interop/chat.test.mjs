// The chat server (build/bin/sio-chat) against npm socket.io-client:
// every event of examples/chat/PROTOCOL.md, every validation error, the
// rate limit, and history that survives a restart.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { io } from 'socket.io-client';
import { startServer } from './lib/server.mjs';

let dir;
let srv;
const clients = [];

function connect(name, opts = {}) {
  const s = io(`${srv.url}/chat`, { auth: { name }, reconnection: false, ...opts });
  clients.push(s);
  return s;
}

function connected(s) {
  return new Promise((resolve, reject) => {
    if (s.connected) return resolve(s);
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  });
}

function next(s, event, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${event}`)), timeoutMs);
    s.once(event, (d) => { clearTimeout(t); resolve(d); });
  });
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sio-chat-'));
  srv = await startServer('sio-chat', ['--db', path.join(dir, 'chat.db')]);
});

after(async () => {
  for (const c of clients) c.close();
  if (srv) assert.equal((await srv.stop()).code, 0);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the page and the client bundle are served', async () => {
  let r = await fetch(`${srv.url}/`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /text\/html/);
  const icon = /<link rel="icon" href="([^"]+)"/.exec(await r.text());
  assert.ok(icon, 'the page names its icon (else a browser asks for /favicon.ico, a 404)');
  r = await fetch(new URL(icon[1], `${srv.url}/`));
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^image\/svg\+xml/);
  r = await fetch(`${srv.url}/socket.io/socket.io.min.js`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /javascript/);
  const etag = r.headers.get('etag');
  assert.ok(etag);
  r = await fetch(`${srv.url}/socket.io/socket.io.min.js`, { headers: { 'if-none-match': etag } });
  assert.equal(r.status, 304);
});

test('a name is required and checked', async () => {
  for (const [auth, message] of [[{}, 'name required'], [{ name: '   ' }, 'name required'],
    [{ name: 'x'.repeat(33) }, 'name must be 1-32 characters'], [{ name: 'a\u0001b' }, 'name must be 1-32 characters'],
    [{ name: 42 }, 'name required']]) {
    const s = io(`${srv.url}/chat`, { auth, reconnection: false });
    clients.push(s);
    const err = await new Promise((resolve) => s.once('connect_error', resolve));
    assert.equal(err.message, message, JSON.stringify(auth));
  }
  const ok = await connected(connect('😀'.repeat(32)));
  assert.ok(ok.connected, '32 characters (not bytes) is fine');
  ok.close();
});

test('messages reach everyone in the room, the sender included, and are acked with id and ts', async () => {
  const ana = await connected(connect('Ana'));
  const bo = connect('Bo');
  const joined = next(ana, 'user_joined');
  await connected(bo);
  const j = await joined;
  assert.equal(j.name, 'Bo');
  assert.equal(j.room, 'lobby');
  const join = await ana.emitWithAck('join', 'lobby');
  assert.equal(join.ok, true);
  assert.deepEqual(join.members.sort(), ['Ana', 'Bo']);
  const toBo = next(bo, 'msg_to_client');
  const toAna = next(ana, 'msg_to_client');
  const ack = await ana.emitWithAck('msg_to_server', { room: 'lobby', text: '  <b>hi</b> & bye  ' });
  assert.equal(ack.ok, true);
  assert.ok(Number.isInteger(ack.id) && ack.id > 0);
  const [m1, m2] = await Promise.all([toBo, toAna]);
  assert.deepEqual(m1, m2);
  assert.equal(m1.text, '<b>hi</b> & bye', 'trimmed, and kept as text');
  assert.equal(m1.name, 'Ana');
  assert.equal(m1.id, ack.id);
  assert.equal(m1.ts, ack.ts);
  ana.close();
  bo.close();
});

test('invalid messages get an error ack and are neither sent nor stored', async () => {
  const ana = await connected(connect('Ana2'));
  const bo = await connected(connect('Bo2'));
  let leaked = 0;
  bo.on('msg_to_client', () => leaked++);
  const cases = [
    [{ room: 'lobby', text: '' }, 'text must be 1-2000 characters'],
    [{ room: 'lobby', text: ' \n\t ' }, 'text must be 1-2000 characters'],
    [{ room: 'lobby', text: 'x'.repeat(2001) }, 'text must be 1-2000 characters'],
    [{ room: 'elsewhere', text: 'hi' }, 'not in room'],
    [{ room: 'lobby' }, 'a message is {room, text}'],
    ['just a string', 'a message is {room, text}'],
  ];
  for (const [msg, error] of cases) {
    const ack = await ana.emitWithAck('msg_to_server', msg);
    assert.equal(ack.error, error, JSON.stringify(msg).slice(0, 60));
  }
  const long = await ana.emitWithAck('msg_to_server', { room: 'lobby', text: 'é'.repeat(2000) });
  assert.equal(long.ok, true, '2000 characters of two bytes each are fine');
  for (const room of ['Lobby', 'a b', '', 'x'.repeat(33), 'ünï']) {
    const ack = await ana.emitWithAck('join', room);
    assert.match(ack.error, /room names/);
  }
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(leaked, 1, 'only the valid message was delivered');
  ana.close();
  bo.close();
});

test('rate limit: 20 messages per 10 seconds per socket', async () => {
  const s = await connected(connect('Speedy'));
  for (let i = 0; i < 20; i++) {
    const ack = await s.emitWithAck('msg_to_server', { room: 'lobby', text: `m${i}` });
    assert.equal(ack.ok, true, `message ${i}`);
  }
  const over = await s.emitWithAck('msg_to_server', { room: 'lobby', text: 'one too many' });
  assert.match(over.error, /rate limit/);
  const other = await connected(connect('Calm'));
  const ack = await other.emitWithAck('msg_to_server', { room: 'lobby', text: 'still fine' });
  assert.equal(ack.ok, true, 'the limit is per socket');
  s.close();
  other.close();
});

test('rooms: join leaves the previous room, notices go to the right rooms, messages stay in their room', async () => {
  const ana = await connected(connect('Ana3'));
  const bo = await connected(connect('Bo3'));
  const left = next(bo, 'user_left');
  const j = await ana.emitWithAck('join', 'dev-1');
  assert.equal(j.room, 'dev-1');
  assert.deepEqual(j.members, ['Ana3']);
  assert.equal((await left).name, 'Ana3');
  let wrong = 0;
  bo.on('msg_to_client', (m) => { if (m.room === 'dev-1') wrong++; });
  const joined = next(ana, 'user_joined');
  await ana.emitWithAck('msg_to_server', { room: 'dev-1', text: 'in dev-1' });
  const bj = await bo.emitWithAck('join', 'dev-1');
  assert.equal((await joined).name, 'Bo3');
  assert.deepEqual(bj.members.sort(), ['Ana3', 'Bo3']);
  assert.equal(bj.history.at(-1).text, 'in dev-1');
  assert.equal(wrong, 0);
  ana.close();
  bo.close();
});

test('typing goes to the others in the room only', async () => {
  const ana = await connected(connect('Ana4', { transports: ['websocket'] }));
  const bo = await connected(connect('Bo4', { transports: ['websocket'] }));
  let self = 0;
  ana.on('typing', () => self++);
  const seen = next(bo, 'typing');
  // typing is volatile (dropped for a client that cannot take it right now): repeat, bounded
  let got = false;
  seen.then(() => { got = true; }, () => {});
  for (let i = 0; i < 20 && !got; i++) {
    ana.emit('typing', { room: 'lobby', typing: true });
    await new Promise((r) => setTimeout(r, 100));
  }
  const t = await seen;
  assert.deepEqual(t, { name: 'Ana4', room: 'lobby', typing: true });
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(self, 0);
  ana.close();
  bo.close();
});

test('history: the last 50 on join, and the gap after an id', async () => {
  const s = await connected(connect('Historian'));
  await s.emitWithAck('join', 'hist');
  const ids = [];
  for (let i = 0; i < 12; i++) ids.push((await s.emitWithAck('msg_to_server', { room: 'hist', text: `h${i}` })).id);
  const gap = await s.emitWithAck('history', { room: 'hist', after: ids[8] });
  assert.deepEqual(gap.messages.map((m) => m.text), ['h9', 'h10', 'h11']);
  const j = await s.emitWithAck('join', 'hist');
  assert.equal(j.history.length, 12);
  assert.deepEqual(j.history.map((m) => m.id), ids, 'oldest first');
  const bad = await s.emitWithAck('history', { room: 'NO', after: 1 });
  assert.ok(bad.error);
  s.close();
});

test('a flood of history requests is bounded per socket', async () => {
  const s = await connected(connect('Flooder', { transports: ['websocket'] }));
  // 200 requests sent at once: only a few may wait for the database at a time
  const acks = await Promise.all(Array.from({ length: 200 }, () => s.emitWithAck('history', { room: 'lobby', after: 0 })));
  const ok = acks.filter((a) => a.ok).length;
  const busy = acks.filter((a) => /busy/.test(a.error || '')).length;
  assert.equal(ok + busy, 200, 'every request is answered');
  assert.ok(ok >= 1 && busy >= 1, `answered ${ok}, refused ${busy}`);
  const later = await s.emitWithAck('history', { room: 'lobby', after: 0 });
  assert.equal(later.ok, true, 'the socket can read again once its reads are done');
  s.close();
});

test('history survives a restart: every acked message is in the database', async () => {
  const s = await connected(connect('Keeper'));
  await s.emitWithAck('join', 'keep');
  const acks = [];
  for (let i = 0; i < 15; i++) acks.push(s.emitWithAck('msg_to_server', { room: 'keep', text: `k${i}` }));
  const ids = (await Promise.all(acks)).map((a) => a.id);
  s.close();
  const port = srv.port;
  assert.equal((await srv.stop()).code, 0);
  srv = await startServer('sio-chat', ['--db', path.join(dir, 'chat.db')]);
  assert.notEqual(srv.port, undefined);
  const t = await connected(connect('Reader'));
  const j = await t.emitWithAck('join', 'keep');
  assert.deepEqual(j.history.map((m) => m.id), ids);
  assert.deepEqual(j.history.map((m) => m.text), ids.map((_, i) => `k${i}`));
  const next1 = await t.emitWithAck('msg_to_server', { room: 'keep', text: 'after restart' });
  assert.ok(next1.id > Math.max(...ids), 'ids keep increasing across restarts');
  t.close();
  void port;
});
