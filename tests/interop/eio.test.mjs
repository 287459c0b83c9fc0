// The Engine.IO v4 server against the real client: npm engine.io-client v6
// talks to sio-test-server's echo at /engine.io/ over polling, websocket and
// the upgrade between them. Every message must come back exactly, once, in
// order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Socket } from 'engine.io-client';
import { startServer } from './lib/server.mjs';
import { sleep } from './lib/rawhttp.mjs';
import { openClient, until, closeClient } from './lib/eio.mjs';

const MAX = 1000000; // the server's --max-http-buffer-size (its default)
// A long heartbeat, so that a busy machine (sanitizers, parallel tests) never
// turns a late pong into a ping timeout; the heartbeat test has its own server.
let srv;
// pingInterval 100 with a pingTimeout of 2000: pings come often, but a pong
// delayed by a loaded machine does not end the session
let beat;

before(async () => {
  srv = await startServer('sio-test-server', ['--ping-interval', '10000', '--ping-timeout', '10000']);
  beat = await startServer('sio-test-server', ['--ping-interval', '100', '--ping-timeout', '2000']);
});

after(async () => {
  const a = await srv.stop();
  const b = await beat.stop();
  assert.equal(a.code, 0, 'server exits cleanly (and leak-free under ASan)');
  assert.equal(b.code, 0, 'heartbeat server exits cleanly (and leak-free under ASan)');
});

const open = (url, opts = {}) => openClient(() => new Socket(url, opts));
const close = closeClient;

const TEXTS = [
  'hello',
  '',
  'héllo wörld € ß',
  '😀🎉👍🏽 emoji, with a ZWJ 👩‍👩‍👧 sequence',
  '中文字符 日本語 한국어',
  'a\u0000b', // a NUL inside a text message
  '{"json":[1,2,3],"nested":{"x":"y"}}',
  'x'.repeat(5000),
];

const asBuffer = (d) => (Buffer.isBuffer(d) ? d : Buffer.from(d instanceof ArrayBuffer ? d : d.buffer));

function binaries() {
  const ab = new ArrayBuffer(256);
  new Uint8Array(ab).forEach((_, i, a) => { a[i] = i; });
  return [
    Buffer.from([1, 2, 3, 4]),
    Buffer.from([0]),
    Buffer.alloc(0),
    ab, // an ArrayBuffer with every byte value
    new Uint8Array([255, 254, 0, 1]),
    Buffer.from('€😀 as bytes', 'utf8'),
  ];
}

async function echoAll(s) {
  const bins = binaries();
  const sent = [...TEXTS, ...bins];
  const start = s.got.length;
  for (const m of sent) s.send(m);
  await until(() => s.got.length >= start + sent.length, 'every echo');
  const got = s.got.slice(start);
  assert.equal(got.length, sent.length);
  for (let i = 0; i < sent.length; i++) {
    if (sent[i] === '') {
      // engine.io-client decodes the packet "4" as a message without data
      assert.equal(got[i], undefined, 'the empty message comes back as an empty packet');
    } else if (typeof sent[i] === 'string') {
      assert.equal(typeof got[i], 'string', `message ${i} comes back as text`);
      assert.equal(got[i], sent[i], `text message ${i} echoed exactly`);
    } else {
      assert.ok(typeof got[i] !== 'string', `message ${i} comes back as binary`);
      assert.deepEqual(asBuffer(got[i]), asBuffer(sent[i]), `binary message ${i} echoed exactly`);
    }
  }
}

test('polling only: text (UTF-8, emoji) and binary echo exactly', async () => {
  const s = await open(srv.url, { transports: ['polling'] });
  assert.equal(s.transport.name, 'polling');
  assert.match(s.id, /^[A-Za-z0-9_-]{20}$/);
  await echoAll(s);
  assert.equal(s.transport.name, 'polling', 'no upgrade when only polling is allowed');
  await close(s);
});

test('websocket only: text (UTF-8, emoji) and binary echo exactly', async () => {
  const s = await open(srv.url, { transports: ['websocket'] });
  assert.equal(s.transport.name, 'websocket');
  assert.match(s.id, /^[A-Za-z0-9_-]{20}$/);
  await echoAll(s);
  await close(s);
});

test('polling, then upgrade to websocket; messages flow before and after', async () => {
  const s = await open(srv.url);
  assert.equal(s.transport.name, 'polling');
  let upgraded = false;
  s.on('upgrade', (t) => { upgraded = t.name; });
  s.send('before');
  await until(() => upgraded, 'the upgrade');
  assert.equal(upgraded, 'websocket');
  assert.equal(s.transport.name, 'websocket');
  await echoAll(s);
  assert.equal(s.got[0], 'before');
  await close(s);
});

test('200 messages sent right after open arrive once each, in order, across the upgrade', async () => {
  const s = await open(srv.url);
  let upgradedAt = -1;
  s.on('upgrade', () => { upgradedAt = s.got.length; });
  const N = 200;
  const sent = [];
  for (let i = 0; i < N; i++) {
    // every tenth message is binary: text and binary must keep their relative order
    const m = i % 10 === 9 ? Buffer.from(`bin ${i}`) : `msg ${i} ✓`;
    sent.push(m);
    s.send(m);
  }
  await until(() => s.got.length >= N && upgradedAt >= 0, 'all echoes and the upgrade');
  console.log(`# upgrade completed after ${upgradedAt} echoes`);
  await sleep(50);
  assert.equal(s.got.length, N, 'no message duplicated');
  for (let i = 0; i < N; i++) {
    if (typeof sent[i] === 'string') assert.equal(s.got[i], sent[i], `message ${i} in order`);
    else assert.deepEqual(asBuffer(s.got[i]), sent[i], `binary message ${i} in order`);
  }
  assert.equal(s.transport.name, 'websocket');
  await close(s);
});

test('messages sent steadily while the upgrade is in flight arrive once each, in order', async () => {
  const s = await open(srv.url);
  let upgraded = false;
  s.on('upgrade', () => { upgraded = true; });
  let n = 0;
  // send a message every few milliseconds until well after the upgrade (bounded)
  for (let after = 0; n < 2000 && after < 30; n++) {
    s.send(String(n));
    if (upgraded) after++;
    if (n % 5 === 4) await sleep(1);
  }
  assert.ok(upgraded, 'the upgrade happened while sending');
  await until(() => s.got.length >= n, 'all echoes');
  await sleep(50);
  assert.deepEqual(s.got, Array.from({ length: n }, (_, i) => String(i)));
  await close(s);
});

test('polling: 3,000 messages sent at once (one POST of thousands of packets) all echo in order', async () => {
  const s = await open(srv.url, { transports: ['polling'] });
  const N = 3000;
  for (let i = 0; i < N; i++) s.send(`p${i}`);
  await until(() => s.got.length >= N || s.closeReason, 'every echo');
  assert.equal(s.closeReason, null, 'the session stays open');
  assert.deepEqual(s.got, Array.from({ length: N }, (_, i) => `p${i}`));
  await close(s);
});

test('large messages near maxHttpBufferSize, over polling and websocket', async () => {
  // polling: the limit applies to the POST body: "4" + text, or "b" + base64 for binary
  const text = 'é'.repeat((MAX - 100) / 2); // multi-byte: MAX - 100 bytes of UTF-8
  const bin = Buffer.alloc(Math.floor(((MAX - 100) / 4) * 3));
  for (let i = 0; i < bin.length; i++) bin[i] = (i * 7 + 3) & 255;
  const p = await open(srv.url, { transports: ['polling'] });
  p.send(text);
  p.send(bin);
  await until(() => p.got.length >= 2 || p.closeReason, 'large echoes over polling', 60000);
  assert.equal(p.closeReason, null, 'the session stays open');
  assert.equal(p.got[0].length, text.length);
  assert.ok(p.got[0] === text, 'large text echoed exactly over polling');
  assert.ok(asBuffer(p.got[1]).equals(bin), 'large binary echoed exactly over polling');
  await close(p);

  // websocket: the limit applies to one frame's payload
  const wtext = 'y'.repeat(MAX - 1); // "4" + text is exactly MAX bytes
  const wbin = Buffer.alloc(MAX, 0xab);
  const w = await open(srv.url, { transports: ['websocket'] });
  // back to back: the echoes of several max-size messages can be queued at once
  w.send(wtext);
  w.send(wbin);
  w.send(wtext);
  w.send(wbin);
  await until(() => w.got.length >= 4 || w.closeReason, 'large echoes over websocket', 60000);
  assert.equal(w.closeReason, null, 'the session stays open');
  assert.ok(w.got[0] === wtext && w.got[2] === wtext, 'text of maxHttpBufferSize - 1 echoed exactly');
  assert.ok(asBuffer(w.got[1]).equals(wbin) && asBuffer(w.got[3]).equals(wbin),
    'binary of maxHttpBufferSize echoed exactly');
  await close(w);
});

test('a message over maxHttpBufferSize closes the session (websocket and polling)', async () => {
  const w = await open(srv.url, { transports: ['websocket'] });
  w.send(Buffer.alloc(MAX + 1));
  await until(() => w.closeReason, 'the close');
  assert.equal(w.closeReason, 'transport close');

  const p = await open(srv.url, { transports: ['polling'] });
  p.on('error', () => {});
  p.send('z'.repeat(MAX + 10));
  await until(() => p.closeReason, 'the close');
  assert.match(p.closeReason, /error|close/);
});

test('heartbeat: clients answer pings and stay connected (interval 100 ms, timeout 2000 ms)', async () => {
  const clients = await Promise.all([
    open(beat.url, { transports: ['polling'] }),
    open(beat.url, { transports: ['websocket'] }),
    open(beat.url),
  ]);
  const pings = clients.map(() => 0);
  clients.forEach((c, i) => c.on('ping', () => { pings[i]++; }));
  await sleep(2500); // longer than pingInterval + pingTimeout: the pongs keep the sessions
  for (let i = 0; i < clients.length; i++) {
    assert.equal(clients[i].readyState, 'open', `client ${i} still open after 25 intervals`);
    assert.equal(clients[i].closeReason, null);
    assert.ok(pings[i] >= 3, `client ${i} got pings (${pings[i]})`);
  }
  await Promise.all(clients.map(async (c) => {
    c.send('still here');
    await until(() => c.got.includes('still here'), 'echo after the heartbeats');
  }));
  await Promise.all(clients.map(close));
});

test('many concurrent clients, mixed transports, each with its own echo stream', async () => {
  const kinds = [['polling'], ['websocket'], undefined];
  const clients = await Promise.all(Array.from({ length: 60 }, (_, i) =>
    open(srv.url, kinds[i % 3] ? { transports: kinds[i % 3] } : {})));
  const ids = new Set(clients.map((c) => c.id));
  assert.equal(ids.size, clients.length, 'every session id is unique');
  clients.forEach((c, i) => { for (let k = 0; k < 20; k++) c.send(`${i}:${k}`); });
  await until(() => clients.every((c) => c.got.length >= 20), 'every echo');
  clients.forEach((c, i) => {
    assert.deepEqual(c.got, Array.from({ length: 20 }, (_, k) => `${i}:${k}`), `client ${i}`);
  });
  await Promise.all(clients.map(close));
});
