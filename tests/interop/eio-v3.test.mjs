// Engine.IO v3 (sio-test-server --eio3): the real v3 client (engine.io-client
// 3.5, shipped inside socket.io-client v2) and the v3 wire formats byte for
// byte (docs/engine.io-protocol/v3.md in socketio/socket.io): length-prefixed
// text payloads counted in UTF-16 units, the XHR2 binary payload, binary
// websocket frames led by their type byte, and client-driven pings.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { startServer } from './lib/server.mjs';
import { sleep } from './lib/rawhttp.mjs';
import { HttpConn, WsPeer, once, openClient, until, closeClient } from './lib/eio.mjs';

const require = createRequire(import.meta.url);
const eio3 = require('socket.io-client-v2/node_modules/engine.io-client');

let srv; // --eio3, long heartbeat
let beat; // --eio3, pingInterval 100, pingTimeout 2000 (v3: a session ends 2.1 s after the last ping)
let v4only; // no --eio3

before(async () => {
  srv = await startServer('sio-test-server', ['--eio3', '--ping-interval', '10000', '--ping-timeout', '5000']);
  beat = await startServer('sio-test-server', ['--eio3', '--ping-interval', '100', '--ping-timeout', '2000']);
  v4only = await startServer('sio-test-server', []);
});

after(async () => {
  for (const s of [srv, beat, v4only]) {
    assert.equal((await s.stop()).code, 0, 'server exits cleanly (and leak-free under ASan)');
  }
});

const open = (url, opts = {}) => openClient(() => eio3(url, opts));
const close = closeClient;

const asBuffer = (d) => (Buffer.isBuffer(d) ? d : Buffer.from(d instanceof ArrayBuffer ? d : d.buffer));

async function echoAll(s) {
  const ab = new Uint8Array([7, 0, 255, 128]).buffer;
  const sent = ['hello', 'héllo € ß', '😀🎉 emoji, and 中文', 'x'.repeat(3000), Buffer.from([1, 2, 3, 4]),
    Buffer.from([0]), ab, 'after binary'];
  const start = s.got.length;
  for (const m of sent) s.send(m);
  await until(() => s.got.length >= start + sent.length, 'every echo');
  const got = s.got.slice(start);
  for (let i = 0; i < sent.length; i++) {
    if (typeof sent[i] === 'string') assert.equal(got[i], sent[i], `text ${i} echoed exactly`);
    else assert.deepEqual(asBuffer(got[i]), asBuffer(sent[i]), `binary ${i} echoed exactly`);
  }
}

// ---- the v3 client --------------------------------------------------------------------------

test('v3 client, polling only: text and binary echo', async () => {
  const s = await open(srv.url, { transports: ['polling'] });
  assert.equal(s.transport.name, 'polling');
  assert.match(s.id, /^[A-Za-z0-9_-]{20}$/);
  await echoAll(s);
  await close(s);
});

test('v3 client, websocket only (binary frames and base64 text frames): text and binary echo', async () => {
  const s = await open(srv.url, { transports: ['websocket'] });
  assert.equal(s.transport.name, 'websocket');
  await echoAll(s);
  await close(s);
  const b = await open(srv.url, { transports: ['websocket'], forceBase64: true });
  await echoAll(b);
  await close(b);
});

test('v3 client, polling then upgrade: 100 messages in order across the upgrade', async () => {
  const s = await open(srv.url);
  let upgraded = false;
  s.on('upgrade', () => { upgraded = true; });
  const sent = Array.from({ length: 100 }, (_, i) => (i % 7 === 6 ? Buffer.from([i]) : `m${i} ✓`));
  for (const m of sent) s.send(m);
  await until(() => upgraded && s.got.length >= sent.length, 'the upgrade and every echo');
  await sleep(50);
  assert.equal(s.got.length, sent.length);
  sent.forEach((m, i) => {
    if (typeof m === 'string') assert.equal(s.got[i], m);
    else assert.deepEqual(asBuffer(s.got[i]), m);
  });
  assert.equal(s.transport.name, 'websocket');
  await echoAll(s);
  await close(s);
});

test('v3 client, polling: 3,000 messages sent at once all echo in order', async () => {
  const s = await open(srv.url, { transports: ['polling'] });
  const N = 3000;
  for (let i = 0; i < N; i++) s.send(`p${i}`);
  await until(() => s.got.length >= N || s.closeReason, 'every echo');
  assert.equal(s.closeReason, null, 'the session stays open');
  assert.deepEqual(s.got, Array.from({ length: N }, (_, i) => `p${i}`));
  await close(s);
});

test('v3 client: upgrades reliably (20 sessions in a row; the client cannot ping while it upgrades)', async () => {
  for (let i = 0; i < 20; i++) {
    const s = await open(beat.url);
    let upgraded = false;
    s.on('upgrade', () => { upgraded = true; });
    await until(() => upgraded || s.closeReason, `upgrade ${i}`, 10000);
    assert.equal(s.closeReason, null, `session ${i} stays open`);
    s.send(`u${i}`);
    await until(() => s.got.includes(`u${i}`), `echo ${i}`);
    await close(s);
  }
});

test('v3 client: pings keep the session (interval 100 ms, timeout 2000 ms)', async () => {
  const clients = await Promise.all([open(beat.url, { transports: ['polling'] }),
    open(beat.url, { transports: ['websocket'] }), open(beat.url)]);
  await sleep(2500); // longer than interval + timeout: the client's pings keep the sessions
  for (const c of clients) {
    assert.equal(c.closeReason, null, `closed: ${c.closeReason}`);
    assert.equal(c.readyState, 'open');
    c.send('ok?');
  }
  await until(() => clients.every((c) => c.got.includes('ok?')), 'echoes after the heartbeats');
  await Promise.all(clients.map(close));
});

test('without --eio3 the v3 client is refused (Unsupported protocol version)', async () => {
  for (const transports of [['polling'], ['websocket']]) {
    const s = eio3(v4only.url, { transports, reconnection: false });
    const err = await new Promise((resolve) => {
      s.once('open', () => resolve(null));
      s.once('error', resolve);
    });
    assert.ok(err, `${transports}: the client reports an error`);
    s.close();
  }
  const r = await once(v4only.port, 'GET', 'EIO=3&transport=polling');
  assert.equal(r.status, 400);
  assert.equal(r.body, '{"code":5,"message":"Unsupported protocol version"}');
});

// ---- v3 on the wire ----------------------------------------------------------------------------

async function handshake3(port, extra = '') {
  const r = await once(port, 'GET', `EIO=3&transport=polling${extra}`);
  assert.equal(r.status, 200);
  const m = /^(\d+):0(\{.*\})$/.exec(r.body);
  assert.ok(m, `a v3 open payload: ${r.body}`);
  assert.equal(Number(m[1]), m[2].length + 1, 'the length counts the packet (ASCII here)');
  return { res: r, open: JSON.parse(m[2]), sid: JSON.parse(m[2]).sid, json: m[2] };
}
const q3 = (sid) => `EIO=3&transport=polling&sid=${sid}`;

test('v3 handshake: "<length>:0{...}" with no maxPayload', async () => {
  const { res, open, sid, json } = await handshake3(srv.port);
  assert.equal(res.headers['content-type'], 'text/plain; charset=UTF-8');
  assert.match(sid, /^[A-Za-z0-9_-]{20}$/);
  assert.equal(json, `{"sid":"${sid}","upgrades":["websocket"],"pingInterval":10000,"pingTimeout":5000}`);
  assert.deepEqual(Object.keys(open), ['sid', 'upgrades', 'pingInterval', 'pingTimeout']);
  const ws = await WsPeer.open(srv.port, 'EIO=3&transport=websocket');
  const first = await ws.next();
  assert.match(first, /^0\{"sid":"[A-Za-z0-9_-]{20}","upgrades":\[\],"pingInterval":10000,"pingTimeout":5000\}$/);
  ws.close();
  assert.equal((await once(srv.port, 'POST', q3(sid), { body: '1:1' })).body, 'ok');
});

test('v3 text payloads: lengths in UTF-16 units (€ one, an emoji two)', async () => {
  const { sid } = await handshake3(srv.port);
  const body = '6:4hello2:4€3:4😀1:4';
  assert.equal((await once(srv.port, 'POST', q3(sid), { body })).body, 'ok');
  const g = await once(srv.port, 'GET', q3(sid));
  assert.equal(g.headers['content-type'], 'text/plain; charset=UTF-8');
  assert.equal(g.body, '6:4hello2:4€3:4😀1:4');
  // a wrong length is a parse error: 400 and the session ends
  const bad = await once(srv.port, 'POST', q3(sid), { body: '3:4€' });
  assert.equal(bad.status, 400);
  assert.equal(bad.body, '{"code":3,"message":"Bad request"}');
  assert.equal((await once(srv.port, 'GET', q3(sid))).body, '{"code":1,"message":"Session ID unknown"}');
});

test('v3 XHR2 binary payloads (application/octet-stream), both ways, byte for byte', async () => {
  const { sid } = await handshake3(srv.port);
  // "4€" as a string packet (4 bytes), then a binary message <01 02 03>: type byte 4 + data
  const payload = Buffer.from([0x00, 4, 0xff, 0x34, 0xe2, 0x82, 0xac, 0x01, 4, 0xff, 4, 1, 2, 3]);
  const r = await once(srv.port, 'POST', q3(sid), {
    body: payload, headers: { 'Content-Type': 'application/octet-stream' },
  });
  assert.equal(r.body, 'ok');
  const g = await once(srv.port, 'GET', q3(sid));
  assert.equal(g.headers['content-type'], 'application/octet-stream');
  assert.deepEqual(g.raw, payload, 'the echo is the same binary payload');
  // a ten-byte binary message has a two-digit length
  const ten = Buffer.concat([Buffer.from([0x01, 1, 1, 0xff, 4]), Buffer.alloc(10, 0xee)]);
  await once(srv.port, 'POST', q3(sid), { body: ten, headers: { 'Content-Type': 'application/octet-stream' } });
  assert.deepEqual((await once(srv.port, 'GET', q3(sid))).raw, ten);
  // only text queued: the text format, even for a binary-capable client
  await once(srv.port, 'POST', q3(sid), { body: '3:4ab' });
  const t = await once(srv.port, 'GET', q3(sid));
  assert.equal(t.headers['content-type'], 'text/plain; charset=UTF-8');
  assert.equal(t.body, '3:4ab');
  await once(srv.port, 'POST', q3(sid), { body: '1:1' });
});

test('v3 with b64=1: binary goes back as "b4" + base64 in a text payload', async () => {
  const { sid } = await handshake3(srv.port, '&b64=1');
  const r = await once(srv.port, 'POST', q3(sid), { body: '2:4€10:b4AQIDBA==' });
  assert.equal(r.body, 'ok');
  const g = await once(srv.port, 'GET', q3(sid));
  assert.equal(g.headers['content-type'], 'text/plain; charset=UTF-8');
  assert.equal(g.body, '2:4€10:b4AQIDBA==');
  await once(srv.port, 'POST', q3(sid), { body: '1:1' });
});

test('v3 websocket: binary frames start with the type byte; the client pings, the server pongs', async () => {
  const ws = await WsPeer.open(srv.port, 'EIO=3&transport=websocket');
  await ws.next();
  ws.send(Buffer.from([4, 9, 8, 7]));
  assert.deepEqual(await ws.next(), Buffer.from([4, 9, 8, 7]));
  ws.send('b4AQID'); // base64 binary in a text frame
  assert.deepEqual(await ws.next(), Buffer.from([4, 1, 2, 3]));
  ws.send('2');
  assert.equal(await ws.next(), '3');
  ws.send('2probe');
  assert.equal(await ws.next(), '3probe', 'a ping with data gets a pong with the same data');
  ws.send('4€');
  assert.equal(await ws.next(), '4€');
  ws.send('1');
  await ws.waitClose();
});

test('v3 heartbeat: the server answers "2" with "3" and drops a session that stops pinging', async () => {
  const { sid } = await handshake3(beat.port);
  const c = await HttpConn.open(beat.port);
  for (let i = 0; i < 25; i++) { // 2.2 s or more: longer than interval + timeout
    assert.equal((await c.send('POST', q3(sid), { body: '1:2' })).body, 'ok');
    assert.equal((await c.send('GET', q3(sid))).body, '1:3', `pong ${i}`);
    await sleep(80);
  }
  // the server never pings a v3 client: a GET waits until the session times out
  const r = await c.send('GET', q3(sid));
  assert.equal(r.body, '1:1', 'released with a close packet after interval + timeout without a ping');
  assert.equal((await c.send('GET', q3(sid))).body, '{"code":1,"message":"Session ID unknown"}');
  c.close();
});

test('v3 upgrade by hand: 2probe/3probe, noop "1:6" for the waiting GET, then "5"', async () => {
  const { sid } = await handshake3(srv.port);
  const a = await HttpConn.open(srv.port);
  const pending = a.send('GET', q3(sid));
  await sleep(50);
  const ws = await WsPeer.open(srv.port, `EIO=3&transport=websocket&sid=${sid}`);
  ws.send('2probe');
  assert.equal(await ws.next(), '3probe');
  assert.equal((await pending).body, '1:6');
  await once(srv.port, 'POST', q3(sid), { body: Buffer.from([0x01, 3, 0xff, 4, 5, 6]),
    headers: { 'Content-Type': 'application/octet-stream' } });
  ws.send('5');
  assert.deepEqual(await ws.next(), Buffer.from([4, 5, 6]), 'the queued binary echo, as a v3 binary frame');
  ws.send('4upgraded');
  assert.equal(await ws.next(), '4upgraded');
  ws.send('1');
  await ws.waitClose();
  a.close();
});
