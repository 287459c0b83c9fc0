// Engine.IO server options that change what a client sees on the wire:
// `cookie` (the session id in a cookie on the handshake), `allowUpgrades`
// (false: no upgrade offered, an upgrade request refused) and
// `upgradeTimeout` (a probe that does not finish is closed, the session goes
// on over polling). Raw HTTP and WebSocket requests (lib/eio.mjs) check the
// bytes; engine.io-client checks that a real client copes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Socket } from 'engine.io-client';
import { startServer } from './lib/server.mjs';
import { sleep } from './lib/rawhttp.mjs';
import { HttpConn, WsPeer, once, handshake, pollQuery, openClient, until, closeClient } from './lib/eio.mjs';

const UPGRADE_TIMEOUT = 300;
const QUIET = ['--ping-interval', '10000', '--ping-timeout', '10000']; // no ping gets in the way
let opt; // --cookie sticky --upgrade-timeout 300
let noup; // --no-upgrades, no cookie

before(async () => {
  opt = await startServer('sio-test-server', [...QUIET, '--cookie', 'sticky', '--upgrade-timeout', String(UPGRADE_TIMEOUT)]);
  noup = await startServer('sio-test-server', [...QUIET, '--no-upgrades']);
});

after(async () => {
  const a = await opt.stop();
  const b = await noup.stop();
  assert.equal(a.code, 0, 'server exits cleanly (and leak-free under ASan)');
  assert.equal(b.code, 0, 'no-upgrades server exits cleanly (and leak-free under ASan)');
});

const BAD_REQUEST = '{"code":3,"message":"Bad request"}';

// Sends a message over polling and reads the echo back (the session lives on polling).
async function echoOverPolling(port, sid, text) {
  const c = await HttpConn.open(port);
  try {
    const p = await c.send('POST', pollQuery(sid), { body: `4${text}` });
    assert.equal(p.body, 'ok', 'the POST is taken');
    const g = await c.send('GET', pollQuery(sid));
    assert.equal(g.status, 200);
    assert.equal(g.body, `4${text}`, 'the echo comes back over polling');
  } finally { c.close(); }
}

// ---- cookie ----------------------------------------------------------------------------------

test('cookie: the polling handshake sets NAME=sid (Path=/, HttpOnly, SameSite=Lax), later requests do not', async () => {
  const { res, sid } = await handshake(opt.port);
  assert.equal(res.headers['set-cookie'], `sticky=${sid}; Path=/; HttpOnly; SameSite=Lax`);
  const c = await HttpConn.open(opt.port);
  try {
    const p = await c.send('POST', pollQuery(sid), { body: '4x' });
    assert.equal(p.headers['set-cookie'], undefined, 'no cookie on a POST of the session');
    const g = await c.send('GET', pollQuery(sid));
    assert.equal(g.body, '4x');
    assert.equal(g.headers['set-cookie'], undefined, 'no cookie on a GET of the session');
  } finally { c.close(); }

  // the Socket.IO server forwards the option to its Engine.IO server
  const r = await fetch(`${opt.url}/socket.io/?EIO=4&transport=polling`);
  const body = await r.text();
  const sioSid = JSON.parse(body.slice(1)).sid;
  assert.equal(r.headers.get('set-cookie'), `sticky=${sioSid}; Path=/; HttpOnly; SameSite=Lax`);

  // without the option, no cookie
  const plain = await handshake(noup.port);
  assert.equal(plain.res.headers['set-cookie'], undefined, 'no cookie unless asked for');
});

test('cookie: a session that starts on WebSocket gets it on the 101; an upgrade does not', async () => {
  const ws = new WsPeer(`ws://127.0.0.1:${opt.port}/engine.io/?EIO=4&transport=websocket`);
  const upgradeRes = new Promise((resolve) => ws.ws.once('upgrade', resolve));
  await ws.opened;
  const res = await upgradeRes;
  const open = JSON.parse((await ws.next()).slice(1));
  assert.deepEqual(res.headers['set-cookie'], [`sticky=${open.sid}; Path=/; HttpOnly; SameSite=Lax`]);
  ws.ws.close();

  // the upgrade of a polling session: its cookie came with the polling handshake
  const { sid } = await handshake(opt.port);
  const probe = new WsPeer(`ws://127.0.0.1:${opt.port}/engine.io/?${pollQuery(sid).replace('transport=polling', 'transport=websocket')}`);
  const probeRes = new Promise((resolve) => probe.ws.once('upgrade', resolve));
  await probe.opened;
  assert.equal((await probeRes).headers['set-cookie'], undefined, 'no cookie on an upgrade');
  probe.ws.close();

  // without the option, none on the 101 either
  const plain = new WsPeer(`ws://127.0.0.1:${noup.port}/engine.io/?EIO=4&transport=websocket`);
  const plainRes = new Promise((resolve) => plain.ws.once('upgrade', resolve));
  await plain.opened;
  assert.equal((await plainRes).headers['set-cookie'], undefined);
  plain.ws.close();
});

// ---- allowUpgrades ---------------------------------------------------------------------------

test('allowUpgrades false: no upgrade offered, an upgrade request is refused, the session stays on polling', async () => {
  const { res, open, sid } = await handshake(noup.port);
  assert.deepEqual(open.upgrades, [], 'the handshake offers no upgrade');
  assert.match(res.body, /"upgrades":\[\]/);
  const sio = await (await fetch(`${noup.url}/socket.io/?EIO=4&transport=polling`)).text();
  assert.deepEqual(JSON.parse(sio.slice(1)).upgrades, [], 'nor does the Socket.IO server\'s');

  let refused = null;
  try {
    const p = await WsPeer.open(noup.port, `EIO=4&transport=websocket&sid=${encodeURIComponent(sid)}`);
    p.terminate();
  } catch (e) {
    refused = e;
  }
  assert.ok(refused, 'the upgrade request is refused');
  assert.equal(refused.status, 400);
  assert.equal(refused.body, BAD_REQUEST);
  await echoOverPolling(noup.port, sid, 'still polling');

  // a session that starts on websocket is still possible (the transport is enabled)
  const ws = await WsPeer.open(noup.port, 'EIO=4&transport=websocket');
  try {
    const hello = await ws.next();
    assert.equal(hello[0], '0');
    assert.deepEqual(JSON.parse(hello.slice(1)).upgrades, []);
    ws.send('4ws');
    assert.equal(await ws.nextData(), '4ws');
  } finally { ws.terminate(); }

  // the same server with upgrades allowed is not what these tests run against
  const { open: withUpgrades } = await handshake(opt.port);
  assert.deepEqual(withUpgrades.upgrades, ['websocket']);
});

test('allowUpgrades false: engine.io-client stays on polling; with upgrades it moves to websocket', async () => {
  const s = await openClient(() => new Socket(noup.url));
  try {
    await sleep(300); // an upgrade, if offered, would be under way by now
    assert.equal(s.transport.name, 'polling');
    s.send('over polling');
    await until(() => s.got.includes('over polling'), 'the echo');
    assert.equal(s.transport.name, 'polling');
  } finally { await closeClient(s); }

  const u = await openClient(() => new Socket(opt.url));
  try {
    await until(() => u.transport.name === 'websocket', 'the upgrade');
  } finally { await closeClient(u); }
});

// ---- upgradeTimeout --------------------------------------------------------------------------

test('upgradeTimeout: a probe that never sends the upgrade packet is closed, the session goes on over polling', async () => {
  const { sid } = await handshake(opt.port);
  const probeQuery = `EIO=4&transport=websocket&sid=${encodeURIComponent(sid)}`;

  // answered "3probe", then no "5"
  let p = await WsPeer.open(opt.port, probeQuery);
  const t0 = Date.now();
  p.send('2probe');
  assert.equal(await p.next(), '3probe');
  const closed = await p.waitClose(5000);
  const took = Date.now() - t0;
  assert.equal(closed.code, 1000);
  assert.ok(took >= UPGRADE_TIMEOUT - 20, `closed after the timeout, not before (${took} ms)`);
  assert.ok(took < 10000, `closed at the configured timeout, not the default 10 s (${took} ms)`);
  await echoOverPolling(opt.port, sid, 'after the probe');

  // a probe that sends nothing at all is closed too
  p = await WsPeer.open(opt.port, probeQuery);
  assert.equal((await p.waitClose(5000)).code, 1000);
  await echoOverPolling(opt.port, sid, 'after the silent probe');

  // and the session may still upgrade afterwards
  p = await WsPeer.open(opt.port, probeQuery);
  try {
    p.send('2probe');
    assert.equal(await p.next(), '3probe');
    p.send('5');
    p.send('4upgraded');
    assert.equal(await p.nextData(), '4upgraded');
    const r = await once(opt.port, 'GET', pollQuery(sid));
    assert.equal(r.status, 400, 'polling is over for the upgraded session');
    assert.equal(r.body, BAD_REQUEST);
  } finally { p.terminate(); }
});
