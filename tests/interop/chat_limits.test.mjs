// The chat server's bounds (examples/chat/PROTOCOL.md, "Limits"), driven with
// npm socket.io-client: a flood of typing or join from one socket reaches the
// others in its room at most as often as the per-socket limit allows (typing
// over the limit is dropped silently, a join over it is refused with
// {error}), the limits refill, and the history is cut per room, in total and
// by age, with ids that keep increasing whatever was deleted.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { io } from 'socket.io-client';
import { startServer } from './lib/server.mjs';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sio-chat-limits-'));
const clients = [];
let dbs = 0;

after(() => {
  for (const c of clients) c.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function newDb() {
  return path.join(dir, `chat-${++dbs}.db`);
}

async function start(args = [], db = newDb()) {
  const srv = await startServer('sio-chat', ['--db', db, ...args]);
  srv.db = db;
  return srv;
}

async function stop(srv) {
  for (const c of clients.splice(0)) c.close();
  assert.equal((await srv.stop()).code, 0, 'sio-chat exits cleanly');
}

async function connect(srv, name) {
  const s = io(`${srv.url}/chat`, { auth: { name }, reconnection: false, transports: ['websocket'] });
  clients.push(s);
  await new Promise((resolve, reject) => {
    s.once('connect', resolve);
    s.once('connect_error', reject);
  });
  return s;
}

function next(s, event, pred = () => true, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${event}`)), timeoutMs);
    const on = (d) => {
      if (!pred(d)) return;
      clearTimeout(t);
      s.off(event, on);
      resolve(d);
    };
    s.on(event, on);
  });
}

// Everything the server sent b on behalf of a before this returns has been
// received: a message from a goes through the same connections, in order.
async function sync(a, b, room) {
  const text = `sync ${Math.random()}`;
  const got = next(b, 'msg_to_client', (m) => m.text === text);
  const ack = await a.emitWithAck('msg_to_server', { room, text });
  assert.equal(ack.ok, true, JSON.stringify(ack));
  await got;
}

async function pair(srv, room) {
  const ana = await connect(srv, 'Ana');
  const bo = await connect(srv, 'Bo');
  assert.equal((await bo.emitWithAck('join', room)).ok, true);
  assert.equal((await ana.emitWithAck('join', room)).ok, true);
  return { ana, bo };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// At most n at once, then n per window: what may pass in elapsedMs.
const allowed = (n, windowMs, elapsedMs) => n + Math.ceil((elapsedMs * n) / windowMs);

test('typing: a flood reaches the room at most as often as the default limit (20 per 10 s)', async () => {
  const srv = await start();
  try {
    const { ana, bo } = await pair(srv, 'tflood');
    let seen = 0;
    bo.on('typing', (t) => { if (t.name === 'Ana') seen++; });
    const t0 = Date.now();
    for (let i = 0; i < 300; i++) ana.emit('typing', { room: 'tflood', typing: i % 2 === 0 });
    await sync(ana, bo, 'tflood');
    const limit = allowed(20, 10000, Date.now() - t0);
    assert.ok(seen >= 1 && seen <= limit, `Bo saw ${seen} of 300 typing events (allowed ${limit})`);
    // the limit is per socket: another member's typing still gets through
    const cy = await connect(srv, 'Cy');
    await cy.emitWithAck('join', 'tflood');
    let fromCy = false;
    const heard = next(bo, 'typing', (t) => t.name === 'Cy').then(() => { fromCy = true; });
    for (let i = 0; i < 20 && !fromCy; i++) {
      cy.emit('typing', { room: 'tflood', typing: true });
      await sleep(50);
    }
    await heard;
  } finally {
    await stop(srv);
  }
});

test('typing: --typing-limit and --limit-window; dropped silently, refilled after the window', async () => {
  const srv = await start(['--typing-limit', '5', '--limit-window', '1']);
  try {
    const { ana, bo } = await pair(srv, 'tlimit');
    let seen = 0;
    let errors = 0;
    bo.on('typing', (t) => { if (t.name === 'Ana') seen++; });
    ana.onAny((event) => { if (event !== 'msg_to_client') errors++; });
    let t0 = Date.now();
    for (let i = 0; i < 100; i++) ana.emit('typing', { room: 'tlimit', typing: true });
    await sync(ana, bo, 'tlimit');
    let limit = allowed(5, 1000, Date.now() - t0);
    assert.ok(seen >= 1 && seen <= limit, `first flood: Bo saw ${seen} (allowed ${limit})`);
    assert.equal(errors, 0, 'the sender is told nothing');
    await sleep(1100);          // the bucket fills up again
    const before = seen;
    t0 = Date.now();
    for (let i = 0; i < 100; i++) ana.emit('typing', { room: 'tlimit', typing: true });
    await sync(ana, bo, 'tlimit');
    limit = allowed(5, 1000, Date.now() - t0);
    assert.ok(seen - before >= 1 && seen - before <= limit,
      `after the window: Bo saw ${seen - before} more (allowed ${limit})`);
  } finally {
    await stop(srv);
  }
});

test('join: a flood changes rooms at most as often as the default limit (10 per 10 s), the rest refused', async () => {
  const srv = await start();
  try {
    const ana = await connect(srv, 'Ana');
    const bo = await connect(srv, 'Bo');
    assert.equal((await bo.emitWithAck('join', 'j-a')).ok, true);
    let notices = 0;
    bo.on('user_joined', (e) => { if (e.name === 'Ana') notices++; });
    bo.on('user_left', (e) => { if (e.name === 'Ana') notices++; });
    const t0 = Date.now();
    const acks = await Promise.all(Array.from({ length: 100 }, (_, i) =>
      ana.emitWithAck('join', i % 2 === 0 ? 'j-a' : 'j-b')));
    const elapsed = Date.now() - t0;
    const refused = acks.filter((a) => /^rate limit: at most 10 joins in 10 seconds$/.test(a.error || ''));
    const taken = 100 - refused.length;
    const limit = allowed(10, 10000, elapsed);
    assert.ok(taken >= 1 && taken <= limit, `${taken} joins taken (allowed ${limit})`);
    // every join answered: taken ones with the history (or busy: reads in flight), the rest refused
    for (const a of acks) assert.ok(a.ok || a.error, JSON.stringify(a));
    // bring Ana (in j-a or j-b, after her last join taken) to j-a to sync with Bo
    await sleep(1100);          // one token back (10 per 10 s)
    const back = await ana.emitWithAck('join', 'j-a');
    assert.equal(back.ok, true, JSON.stringify(back));
    await sync(ana, bo, 'j-a');
    assert.ok(notices <= taken + 1, `Bo got ${notices} notices for ${taken + 1} joins taken`);
  } finally {
    await stop(srv);
  }
});

test('join: --join-limit; a refused join changes nothing and says why', async () => {
  const srv = await start(['--join-limit', '3', '--limit-window', '3600']);
  try {
    const ana = await connect(srv, 'Ana');
    const bo = await connect(srv, 'Bo');
    assert.equal((await bo.emitWithAck('join', 'k-a')).ok, true);
    const notices = [];
    bo.on('user_joined', (e) => notices.push(`joined ${e.name}`));
    bo.on('user_left', (e) => notices.push(`left ${e.name}`));
    const acks = [];
    for (let i = 0; i < 10; i++) acks.push(await ana.emitWithAck('join', i % 2 === 0 ? 'k-a' : 'k-b'));
    assert.deepEqual(acks.map((a) => a.ok === true), [true, true, true, false, false, false, false, false, false, false]);
    assert.deepEqual(acks.slice(3).map((a) => a.error), Array(7).fill('rate limit: at most 3 joins in 3600 seconds'));
    assert.equal(acks[2].room, 'k-a');
    // Ana is in k-a (her third join), not in k-b where the refused ones pointed
    await sync(ana, bo, 'k-a');
    assert.deepEqual(notices, ['joined Ana', 'left Ana', 'joined Ana']);
    const m = await ana.emitWithAck('msg_to_server', { room: 'k-b', text: 'x' });
    assert.equal(m.error, 'not in room');
  } finally {
    await stop(srv);
  }
});

test('history: at most --history-per-room messages per room, the newest', async () => {
  const srv = await start(['--history-per-room', '3']);
  try {
    const s = await connect(srv, 'Keeper');
    await s.emitWithAck('join', 'cap');
    const ids = [];
    for (let i = 0; i < 7; i++) ids.push((await s.emitWithAck('msg_to_server', { room: 'cap', text: `c${i}` })).id);
    await s.emitWithAck('join', 'other');
    await s.emitWithAck('msg_to_server', { room: 'other', text: 'o0' });
    const j = await s.emitWithAck('join', 'cap');
    assert.deepEqual(j.history.map((m) => m.text), ['c4', 'c5', 'c6']);
    const gap = await s.emitWithAck('history', { room: 'cap', after: ids[0] });
    assert.deepEqual(gap.messages.map((m) => m.id), ids.slice(4), 'the older ones are gone');
    const o = await s.emitWithAck('join', 'other');
    assert.deepEqual(o.history.map((m) => m.text), ['o0'], 'other rooms keep theirs');
  } finally {
    await stop(srv);
  }
});

test('history: at most --history-total messages in all rooms, the oldest go first', async () => {
  const srv = await start(['--history-total', '4']);
  try {
    const s = await connect(srv, 'Keeper');
    await s.emitWithAck('join', 'ra');
    for (const t of ['a1', 'a2', 'a3']) assert.equal((await s.emitWithAck('msg_to_server', { room: 'ra', text: t })).ok, true);
    await s.emitWithAck('join', 'rb');
    for (const t of ['b1', 'b2']) assert.equal((await s.emitWithAck('msg_to_server', { room: 'rb', text: t })).ok, true);
    const b = await s.emitWithAck('join', 'rb');
    assert.deepEqual(b.history.map((m) => m.text), ['b1', 'b2']);
    const a = await s.emitWithAck('join', 'ra');
    assert.deepEqual(a.history.map((m) => m.text), ['a2', 'a3'], 'a1, the oldest of all, is gone');
  } finally {
    await stop(srv);
  }
});

test('history: messages older than --history-max-age are never served, and ids keep increasing', async () => {
  const db = newDb();
  let srv = await start(['--history-max-age', '1'], db);
  let lastId;
  try {
    const s = await connect(srv, 'Keeper');
    await s.emitWithAck('join', 'old');
    for (const t of ['x1', 'x2']) lastId = (await s.emitWithAck('msg_to_server', { room: 'old', text: t })).id;
    assert.equal((await s.emitWithAck('join', 'old')).history.length, 2);
    await sleep(1300);
    const j = await s.emitWithAck('join', 'old');
    assert.deepEqual(j.history, [], 'expired, even before the next write deletes them');
    const h = await s.emitWithAck('history', { room: 'old', after: 0 });
    assert.deepEqual(h.messages, []);
    const fresh = await s.emitWithAck('msg_to_server', { room: 'old', text: 'x3' });
    assert.ok(fresh.id > lastId);
    lastId = fresh.id;
    assert.deepEqual((await s.emitWithAck('join', 'old')).history.map((m) => m.text), ['x3']);
  } finally {
    await stop(srv);
  }
  await sleep(1300); // everything in the file has expired now
  srv = await start(['--history-max-age', '1'], db);
  try {
    const s = await connect(srv, 'Keeper');
    await s.emitWithAck('join', 'old');
    assert.deepEqual((await s.emitWithAck('join', 'old')).history, []);
    const after = await s.emitWithAck('msg_to_server', { room: 'old', text: 'x4' });
    assert.ok(after.id > lastId, `ids go on (${after.id} > ${lastId}) though every message was deleted`);
  } finally {
    await stop(srv);
  }
});

test('history: a smaller cap given at a restart applies to what is stored', async () => {
  const db = newDb();
  let srv = await start([], db);
  try {
    const s = await connect(srv, 'Keeper');
    await s.emitWithAck('join', 'shrink');
    for (let i = 0; i < 5; i++) await s.emitWithAck('msg_to_server', { room: 'shrink', text: `s${i}` });
  } finally {
    await stop(srv);
  }
  srv = await start(['--history-per-room', '2'], db);
  try {
    const s = await connect(srv, 'Reader');
    const j = await s.emitWithAck('join', 'shrink');
    assert.deepEqual(j.history.map((m) => m.text), ['s3', 's4']);
  } finally {
    await stop(srv);
  }
});

test('the limits and rules also come from the environment, checked like the flags', async () => {
  const srv = await startServer('sio-chat', ['--db', newDb()], {
    env: { SIO_CHAT_JOIN_LIMIT: '1', SIO_CHAT_LIMIT_WINDOW: '3600' },
  });
  try {
    const s = io(`${srv.url}/chat`, { auth: { name: 'Env' }, reconnection: false, transports: ['websocket'] });
    clients.push(s);
    await new Promise((resolve, reject) => { s.once('connect', resolve); s.once('connect_error', reject); });
    assert.equal((await s.emitWithAck('join', 'e1')).ok, true);
    assert.equal((await s.emitWithAck('join', 'e2')).error, 'rate limit: at most 1 join in 3600 seconds');
  } finally {
    await stop(srv);
  }
});

test('join: past --max-rooms a join that would open a room is refused and the user stays where they were', async () => {
  const srv = await start(['--max-rooms', '2', '--join-limit', '100']);
  try {
    const ana = await connect(srv, 'Ana');
    const bo = await connect(srv, 'Bo');
    // open: lobby (Ana) and r-1 (Bo)
    assert.equal((await bo.emitWithAck('join', 'r-1')).ok, true);
    const refused = await ana.emitWithAck('join', 'r-2');
    assert.equal(refused.error, 'too many rooms on the server');
    // Ana is still in the lobby: she can talk there, and not in r-2
    assert.equal((await ana.emitWithAck('msg_to_server', { room: 'lobby', text: 'still here' })).ok, true);
    assert.equal((await ana.emitWithAck('msg_to_server', { room: 'r-2', text: 'x' })).error, 'not in room');
    // an open room can still be joined; the lobby, left empty, is closed
    assert.equal((await ana.emitWithAck('join', 'r-1')).ok, true);
    await sync(ana, bo, 'r-1');
    assert.equal((await bo.emitWithAck('join', 'r-3')).ok, true, 'the emptied lobby freed its place');
  } finally {
    await stop(srv);
  }
});
