// The Engine.IO v4 server byte for byte against the protocol document
// (docs/engine.io-protocol/v4-current.md in socketio/socket.io): raw HTTP
// requests on TCP sockets and a raw WebSocket (npm `ws`), so every packet,
// status, header and error body is exactly what we sent or expect.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { sleep, connect, ResponseReader } from './lib/rawhttp.mjs';
import { HttpConn, WsPeer, once, handshake, parseOpen, pollQuery, SEP } from './lib/eio.mjs';

const PING_INTERVAL = 10000;
const PING_TIMEOUT = 5000;
const MAX = 1000;
let srv; // long heartbeat (no test has to pong), maxHttpBufferSize 1000, --forbid-header
let fast; // pingInterval 100, pingTimeout 100: for ping timeouts
let beat; // pingInterval 100, pingTimeout 2000: frequent pings, but a late pong on a loaded machine is fine

before(async () => {
  srv = await startServer('sio-test-server', [
    '--ping-interval', String(PING_INTERVAL), '--ping-timeout', String(PING_TIMEOUT),
    '--max-http-buffer-size', String(MAX), '--forbid-header', 'x-forbidden',
  ]);
  fast = await startServer('sio-test-server', ['--ping-interval', '100', '--ping-timeout', '100']);
  beat = await startServer('sio-test-server', ['--ping-interval', '100', '--ping-timeout', '2000']);
});

after(async () => {
  const a = await srv.stop();
  const b = await fast.stop();
  const c = await beat.stop();
  assert.equal(a.code, 0, 'server exits cleanly (and leak-free under ASan)');
  assert.equal(b.code, 0, 'fast-ping server exits cleanly (and leak-free under ASan)');
  assert.equal(c.code, 0, 'heartbeat server exits cleanly (and leak-free under ASan)');
});

const ERRORS = {
  0: '{"code":0,"message":"Transport unknown"}',
  1: '{"code":1,"message":"Session ID unknown"}',
  2: '{"code":2,"message":"Bad handshake method"}',
  3: '{"code":3,"message":"Bad request"}',
  4: '{"code":4,"message":"Forbidden"}',
  5: '{"code":5,"message":"Unsupported protocol version"}',
};

function assertError(res, code, what = '') {
  assert.ok(res, `a response ${what}`);
  assert.equal(res.status, code === 4 ? 403 : 400, `status ${what}`);
  assert.equal(res.headers['content-type'], 'application/json', `Content-Type ${what}`);
  assert.equal(res.body, ERRORS[code], `error body ${what}`);
  assert.equal(res.headers['content-length'], String(Buffer.byteLength(ERRORS[code])));
  assert.equal(res.headers['access-control-allow-origin'], '*', `CORS header on the error ${what}`);
}

// A refused WebSocket handshake: resolves with the rejection (status, body).
async function wsRefused(port, query) {
  try {
    const p = await WsPeer.open(port, query);
    p.terminate();
  } catch (e) {
    return e;
  }
  throw new Error(`websocket ${query} was accepted`);
}

// A WebSocket with the sid of a session that has one (or is being given one):
// as the reference, the handshake succeeds (101) and the server closes it at
// once; resolves with the close code.
async function wsAcceptedThenClosed(port, query) {
  const p = await WsPeer.open(port, query);
  const closed = await p.waitClose();
  return closed.code;
}

const post = (port, sid, body, opts = {}) => once(port, 'POST', pollQuery(sid), { body, ...opts });

// Whether a session is alive, without a GET that would hang: a noop POST.
async function alive(port, sid) {
  const r = await post(port, sid, '6');
  if (r.status === 200 && r.body === 'ok') return true;
  assertError(r, 1, 'for a closed session');
  return false;
}

// Waits (bounded) until the session is gone.
async function gone(port, sid, what) {
  for (let i = 0; i < 100; i++) {
    if (!(await alive(port, sid))) return;
    await sleep(20);
  }
  assert.fail(`session still alive: ${what}`);
}

// ---- handshake ----------------------------------------------------------------------

test('polling handshake: the open packet, byte for byte, and its headers', async () => {
  const res = await once(srv.port, 'GET', 'EIO=4&transport=polling&t=Nx1a2b3');
  const { open, sid } = parseOpen(res);
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-type'], 'text/plain; charset=UTF-8');
  assert.match(sid, /^[A-Za-z0-9_-]{20}$/, 'sid: 20 URL-safe characters');
  assert.equal(res.body,
    `0{"sid":"${sid}","upgrades":["websocket"],"pingInterval":${PING_INTERVAL},` +
    `"pingTimeout":${PING_TIMEOUT},"maxPayload":${MAX}}`);
  assert.equal(res.headers['content-length'], String(Buffer.byteLength(res.body)));
  assert.deepEqual(Object.keys(open), ['sid', 'upgrades', 'pingInterval', 'pingTimeout', 'maxPayload']);
  assert.equal(res.headers['access-control-allow-origin'], '*');
  assert.ok(await alive(srv.port, sid));
  await post(srv.port, sid, '1');
});

test('session ids: 20 URL-safe characters, unique over 300 handshakes', async () => {
  const c = await HttpConn.open(srv.port);
  const ids = new Set();
  for (let i = 0; i < 300; i++) {
    const { sid } = await handshake(srv.port, { conn: c });
    assert.match(sid, /^[A-Za-z0-9_-]{20}$/);
    ids.add(sid);
    const r = await c.send('POST', pollQuery(sid), { body: '1' });
    assert.equal(r.body, 'ok');
  }
  c.close();
  assert.equal(ids.size, 300);
});

test('websocket handshake: 101, then the open packet (no upgrades) in a text frame', async () => {
  const ws = await WsPeer.open(srv.port, 'EIO=4&transport=websocket');
  const first = await ws.next();
  assert.equal(typeof first, 'string');
  const open = JSON.parse(first.slice(1));
  assert.match(open.sid, /^[A-Za-z0-9_-]{20}$/);
  assert.equal(first,
    `0{"sid":"${open.sid}","upgrades":[],"pingInterval":${PING_INTERVAL},` +
    `"pingTimeout":${PING_TIMEOUT},"maxPayload":${MAX}}`);
  ws.send('4over websocket ✓');
  assert.equal(await ws.next(), '4over websocket ✓');
  ws.send(Buffer.from([0, 1, 2, 255]));
  assert.deepEqual(await ws.next(), Buffer.from([0, 1, 2, 255]), 'binary frames carry the bytes as is');
  ws.send('4');
  assert.equal(await ws.next(), '4', 'an empty message');
  ws.close();
  await ws.waitClose();
});

test('--transports polling / websocket: the other transport is unknown, no upgrades offered', async () => {
  const p = await startServer('sio-test-server', ['--transports', 'polling']);
  const w = await startServer('sio-test-server', ['--transports', 'websocket']);
  try {
    const { res, open, sid } = await handshake(p.port);
    assert.deepEqual(open.upgrades, [], 'polling only: no upgrade offered');
    assert.ok(res.body.includes('"upgrades":[]'));
    assertError((await wsRefused(p.port, 'EIO=4&transport=websocket')), 0, 'websocket on a polling-only server');
    assertError((await wsRefused(p.port, `EIO=4&transport=websocket&sid=${sid}`)), 0, 'upgrade on a polling-only server');
    assertError(await once(w.port, 'GET', 'EIO=4&transport=polling'), 0, 'polling on a websocket-only server');
    const ws = await WsPeer.open(w.port, 'EIO=4&transport=websocket');
    assert.match(await ws.next(), /^0\{"sid":"[A-Za-z0-9_-]{20}","upgrades":\[\]/);
    ws.close();
  } finally {
    assert.equal((await p.stop()).code, 0);
    assert.equal((await w.stop()).code, 0);
  }
});

// ---- errors ------------------------------------------------------------------------------

// WsPeer rejections carry status and body but not our parsed header shape; adapt them.
function wsErr(e) {
  return { status: e.status, body: e.body, headers: e.headers };
}
const assertWsError = (e, code, what) => assertError(wsErr(e), code, what);

test('error 0 Transport unknown', async () => {
  for (const q of ['EIO=4', 'EIO=4&transport=', 'EIO=4&transport=flashsocket', 'EIO=4&transport=POLLING',
    'EIO=4&transport=polling2', 'transport=xhr-polling&EIO=4']) {
    assertError(await once(srv.port, 'GET', q), 0, q);
  }
  assertError(await once(srv.port, 'POST', 'EIO=4&transport=jsonp&sid=x', { body: '4x' }), 0, 'POST jsonp');
});

test('error 1 Session ID unknown: GET, POST and websocket', async () => {
  assertError(await once(srv.port, 'GET', pollQuery('AAAAAAAAAAAAAAAAAAAA')), 1, 'GET');
  assertError(await post(srv.port, 'AAAAAAAAAAAAAAAAAAAA', '4x'), 1, 'POST');
  assertError(await once(srv.port, 'GET', pollQuery('')), 1, 'empty sid');
  const { sid } = await handshake(srv.port);
  assertError(await once(srv.port, 'GET', pollQuery(sid.slice(0, 19))), 1, 'a prefix of a sid');
  assertError(await once(srv.port, 'GET', pollQuery(sid + 'x')), 1, 'a sid with a suffix');
  assertWsError(await wsRefused(srv.port, 'EIO=4&transport=websocket&sid=AAAAAAAAAAAAAAAAAAAA'), 1, 'websocket');
  await post(srv.port, sid, '1');
});

test('error 2 Bad handshake method', async () => {
  for (const m of ['POST', 'PUT', 'DELETE', 'PATCH']) {
    assertError(await once(srv.port, m, 'EIO=4&transport=polling', { body: m === 'DELETE' ? null : '4x' }), 2, m);
  }
});

test('error 3 Bad request: methods, malformed payloads, transport mismatches, bad upgrades', async () => {
  // a method other than GET or POST on a session
  let { sid } = await handshake(srv.port);
  assertError(await once(srv.port, 'PUT', pollQuery(sid), { body: '4x' }), 3, 'PUT on a session');

  // malformed payloads: 400 and the session is closed
  for (const body of ['9x', 'x', '4ok' + SEP + 'q', 'b!!!!', 'bA', '4a' + SEP + SEP + '4b']) {
    ({ sid } = await handshake(srv.port));
    assertError(await post(srv.port, sid, body), 3, `payload ${JSON.stringify(body)}`);
    assert.equal(await alive(srv.port, sid), false, `session closed after ${JSON.stringify(body)}`);
  }
  ({ sid } = await handshake(srv.port));
  assertError(await once(srv.port, 'POST', pollQuery(sid), { body: '' }), 3, 'an empty POST body');

  // a websocket session's sid on polling, and on a second websocket
  const ws = await WsPeer.open(srv.port, 'EIO=4&transport=websocket');
  const wsid = JSON.parse((await ws.next()).slice(1)).sid;
  assertError(await once(srv.port, 'GET', pollQuery(wsid)), 3, 'polling GET with a websocket sid');
  assertError(await post(srv.port, wsid, '4x'), 3, 'polling POST with a websocket sid');
  assert.equal(await wsAcceptedThenClosed(srv.port, `EIO=4&transport=websocket&sid=${wsid}`), 1000,
    'a websocket with the sid of a websocket session: accepted, then closed');
  ws.send('4still open');
  assert.equal(await ws.next(), '4still open', 'the websocket session is not disturbed');
  ws.close();

  // transport=websocket without the WebSocket handshake headers
  assertError(await once(srv.port, 'GET', 'EIO=4&transport=websocket'), 3, 'websocket handshake without Upgrade');
  ({ sid } = await handshake(srv.port));
  assertError(await once(srv.port, 'GET', `EIO=4&transport=websocket&sid=${sid}`), 3, 'upgrade without Upgrade');
  assert.ok(await alive(srv.port, sid), 'a bad upgrade request leaves the session alone');
  await post(srv.port, sid, '1');
});

test('error 4 Forbidden (allow_request refuses; --forbid-header)', async () => {
  const r = await once(srv.port, 'GET', 'EIO=4&transport=polling', { headers: { 'X-Forbidden': '1' } });
  assertError(r, 4, 'polling handshake');
  const e = await new Promise((resolve) => {
    const p = new WsPeer(`ws://127.0.0.1:${srv.port}/engine.io/?EIO=4&transport=websocket`,
      { headers: { 'x-forbidden': 'yes' } });
    p.opened.then(() => resolve(null), resolve);
  });
  assertWsError(e, 4, 'websocket handshake');
  const { sid } = await handshake(srv.port, { headers: { 'X-Allowed': '1' } });
  assert.ok(await alive(srv.port, sid), 'other handshakes go through');
  await post(srv.port, sid, '1');
});

test('error 5 Unsupported protocol version: EIO=3 (without --eio3), missing, 5, junk', async () => {
  for (const q of ['EIO=3&transport=polling', 'transport=polling', 'EIO=5&transport=polling',
    'EIO=&transport=polling', 'EIO=4x&transport=polling', 'EIO=2&transport=polling']) {
    assertError(await once(srv.port, 'GET', q), 5, q);
  }
  assertWsError(await wsRefused(srv.port, 'EIO=3&transport=websocket'), 5, 'websocket EIO=3');
  assertWsError(await wsRefused(srv.port, 'transport=websocket'), 5, 'websocket without EIO');
});

// ---- polling ------------------------------------------------------------------------------

test('POST: several packets joined by \\x1e, text and "b" + base64 binary; one GET gets all echoes', async () => {
  const { sid } = await handshake(srv.port);
  const body = ['4one', '4€ and 😀', 'bAQIDBA==', '4', '6', '2', 'bAAEC/w', '4last'].join(SEP);
  const r = await post(srv.port, sid, body);
  assert.equal(r.status, 200);
  assert.equal(r.body, 'ok');
  assert.equal(r.headers['access-control-allow-origin'], '*');
  const g = await once(srv.port, 'GET', pollQuery(sid));
  assert.equal(g.status, 200);
  assert.equal(g.headers['content-type'], 'text/plain; charset=UTF-8');
  // the noop and the ping from the client are not messages; unpadded base64 comes back padded
  assert.equal(g.body, ['4one', '4€ and 😀', 'bAQIDBA==', '4', 'bAAEC/w==', '4last'].join(SEP));
  assert.equal(g.headers['content-length'], String(Buffer.byteLength(g.body)));
  await post(srv.port, sid, '1');
});

test('POST: a payload of 5,000 packets (the body limit is the only limit on their number)', async () => {
  const big = await startServer('sio-test-server', ['--ping-interval', '10000', '--ping-timeout', '10000']);
  try {
    const { sid } = await handshake(big.port);
    const packets = Array.from({ length: 5000 }, (_, i) => (i % 2 ? '6' : `4${i}`));
    assert.equal((await post(big.port, sid, packets.join(SEP))).body, 'ok');
    const g = await once(big.port, 'GET', pollQuery(sid));
    assert.equal(g.body, packets.filter((p) => p !== '6').join(SEP));
    await post(big.port, sid, '1');
  } finally {
    assert.equal((await big.stop()).code, 0);
  }
});

test('a waiting GET is answered when a message comes, with everything queued in that turn', async () => {
  const { sid } = await handshake(srv.port);
  const c = await HttpConn.open(srv.port);
  const pending = c.send('GET', pollQuery(sid));
  await sleep(50);
  const p = await HttpConn.open(srv.port);
  assert.equal((await p.send('POST', pollQuery(sid), { body: `4a${SEP}4b` })).body, 'ok');
  const g = await pending;
  assert.equal(g.body, `4a${SEP}4b`);
  // keep-alive: the next poll and post on the same connections
  assert.equal((await p.send('POST', pollQuery(sid), { body: '4c' })).body, 'ok');
  assert.equal((await c.send('GET', pollQuery(sid))).body, '4c');
  assert.equal((await p.send('POST', pollQuery(sid), { body: '1' })).body, 'ok');
  c.close();
  p.close();
});

test('a second concurrent GET closes the session: 400, the first GET gets "1", then Session ID unknown', async () => {
  const { sid } = await handshake(srv.port);
  const a = await HttpConn.open(srv.port);
  const first = a.send('GET', pollQuery(sid));
  await sleep(100);
  assertError(await once(srv.port, 'GET', pollQuery(sid)), 3, 'the second GET');
  const r = await first;
  assert.equal(r.status, 200, 'the first GET is answered');
  assert.equal(r.body, '1', 'with a close packet');
  assertError(await once(srv.port, 'GET', pollQuery(sid)), 1, 'a later GET');
  assertError(await post(srv.port, sid, '4x'), 1, 'a later POST');
  a.close();
});

test('maxHttpBufferSize: a body of exactly the limit passes; over it is refused and the session closed', async () => {
  let { sid } = await handshake(srv.port);
  const exact = '4' + 'm'.repeat(MAX - 1);
  assert.equal((await post(srv.port, sid, exact)).body, 'ok');
  assert.equal((await once(srv.port, 'GET', pollQuery(sid))).body, exact);

  for (const size of [MAX + 1, MAX + 500, MAX * 5, MAX * 100]) {
    ({ sid } = await handshake(srv.port));
    const r = await post(srv.port, sid, '4' + 'o'.repeat(size - 1));
    assert.equal(r.status, 413, `a ${size}-byte body is refused`);
    assert.equal(await alive(srv.port, sid), false, `session closed after a ${size}-byte body`);
  }

  // the same with a chunked body, whose size is not known up front
  ({ sid } = await handshake(srv.port));
  const c = await HttpConn.open(srv.port);
  const chunk = '4' + 'c'.repeat(MAX + 10);
  c.socket.write(`POST /engine.io/?${pollQuery(sid)} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n` +
    `${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`);
  const r = await c.reader.next();
  assert.equal(r.status, 413, 'an oversized chunked body is refused');
  c.close();
  assert.equal(await alive(srv.port, sid), false, 'session closed after an oversized chunked body');

  // websocket: a message over the limit closes the connection (1009) and the session
  const ws = await WsPeer.open(srv.port, 'EIO=4&transport=websocket');
  const wsid = JSON.parse((await ws.next()).slice(1)).sid;
  ws.send('4' + 'w'.repeat(MAX - 1));
  assert.equal((await ws.next()).length, MAX, 'a frame of exactly the limit passes');
  ws.send('4' + 'w'.repeat(MAX));
  const closed = await ws.waitClose();
  assert.equal(closed.code, 1009);
  assertError(await once(srv.port, 'GET', pollQuery(wsid)), 1, 'the websocket session is gone');
});

test('CORS: preflight 204 with Allow-Origin/Methods/Headers; polling responses carry Allow-Origin', async () => {
  const c = await HttpConn.open(srv.port);
  const pre = await c.send('OPTIONS', 'EIO=4&transport=polling', {
    headers: {
      Origin: 'http://example.test',
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'content-type, x-custom',
    },
  });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers['access-control-allow-origin'], '*');
  assert.equal(pre.headers['access-control-allow-methods'], 'GET,HEAD,PUT,PATCH,POST,DELETE');
  assert.equal(pre.headers['access-control-allow-headers'], undefined,
    'the asked headers are not echoed: none is configured');
  assert.equal(pre.body, '');
  const origin = { Origin: 'http://example.test' };
  const hs = await c.send('GET', 'EIO=4&transport=polling', { headers: origin });
  assert.equal(hs.headers['access-control-allow-origin'], '*', 'handshake');
  const { sid } = parseOpen(hs);
  const p = await c.send('POST', pollQuery(sid), { body: '4cors', headers: origin });
  assert.equal(p.headers['access-control-allow-origin'], '*', 'POST');
  const g = await c.send('GET', pollQuery(sid), { headers: origin });
  assert.equal(g.body, '4cors');
  assert.equal(g.headers['access-control-allow-origin'], '*', 'GET');
  const e = await c.send('GET', pollQuery('nope'), { headers: origin });
  assert.equal(e.headers['access-control-allow-origin'], '*', 'error');
  await c.send('POST', pollQuery(sid), { body: '1' });
  c.close();
});

// One raw request on a fresh connection (any path): the response, or null.
async function rawRequest(port, text) {
  const socket = await connect(port);
  const reader = new ResponseReader(socket);
  try {
    socket.write(text);
    return await reader.next();
  } finally { socket.destroy(); }
}

test('CORS on the HTTP layer\'s own errors (413, 400, 417): an allowed origin gets its headers', async () => {
  // CORS "*": the 413 for a body over maxHttpBufferSize says so too
  let { sid } = await handshake(srv.port);
  let r = await post(srv.port, sid, '4' + 'o'.repeat(MAX), { headers: { Origin: 'http://example.test' } });
  assert.equal(r.status, 413);
  assert.equal(r.headers['access-control-allow-origin'], '*', '413 with CORS "*"');

  // an allow-list with credentials: the origin is echoed when listed, never otherwise
  const list = await startServer('sio-test-server', [
    '--max-http-buffer-size', String(MAX), '--cors', 'http://a.test, http://allowed.test', '--cors-credentials',
  ]);
  try {
    const allowed = { Origin: 'http://allowed.test' };
    ({ sid } = await handshake(list.port, { headers: allowed }));
    r = await post(list.port, sid, '4' + 'o'.repeat(MAX), { headers: allowed });
    assert.equal(r.status, 413);
    assert.equal(r.headers['access-control-allow-origin'], 'http://allowed.test', '413: the origin echoed');
    assert.equal(r.headers['access-control-allow-credentials'], 'true', '413: credentials');
    assert.equal(r.headers.vary, 'Origin');
    const after = await post(list.port, sid, '6', { headers: allowed });
    assert.equal(after.body, ERRORS[1], 'the session still ends on a 413');
    assert.equal(after.headers['access-control-allow-origin'], 'http://allowed.test');

    ({ sid } = await handshake(list.port));
    r = await post(list.port, sid, '4' + 'o'.repeat(MAX), { headers: { Origin: 'http://evil.test' } });
    assert.equal(r.status, 413);
    assert.equal(r.headers['access-control-allow-origin'], undefined, 'an origin not listed is not echoed');

    // the same on the Socket.IO route, whose Engine.IO server has the same CORS options
    r = await rawRequest(list.port,
      `POST /socket.io/?EIO=4&transport=polling&sid=x HTTP/1.1\r\nHost: x\r\nOrigin: http://allowed.test\r\n` +
      `Content-Length: ${MAX + 1}\r\n\r\n${'4'.repeat(MAX + 1)}`);
    assert.equal(r.status, 413);
    assert.equal(r.headers['access-control-allow-origin'], 'http://allowed.test', '413 on /socket.io/');

    // 400: a malformed chunked body; 417: an Expect the server cannot meet
    ({ sid } = await handshake(list.port));
    r = await rawRequest(list.port,
      `POST /engine.io/?${pollQuery(sid)} HTTP/1.1\r\nHost: x\r\nOrigin: http://allowed.test\r\n` +
      'Transfer-Encoding: chunked\r\n\r\nzz\r\n4x\r\n0\r\n\r\n');
    assert.equal(r.status, 400);
    assert.equal(r.headers['access-control-allow-origin'], 'http://allowed.test', '400 from the HTTP layer');
    assert.equal(r.headers['access-control-allow-credentials'], 'true');
    r = await rawRequest(list.port,
      'GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nOrigin: http://allowed.test\r\n' +
      'Expect: something-else\r\n\r\n');
    assert.equal(r.status, 417);
    assert.equal(r.headers['access-control-allow-origin'], 'http://allowed.test', '417 from the HTTP layer');

    // routes other than Engine.IO's are not given CORS headers
    r = await rawRequest(list.port,
      'POST /test/disconnect-reason HTTP/1.1\r\nHost: x\r\nOrigin: http://allowed.test\r\n' +
      'Transfer-Encoding: chunked\r\n\r\nzz\r\n');
    assert.ok(r.status >= 400);
    assert.equal(r.headers['access-control-allow-origin'], undefined, 'no CORS outside the Engine.IO route');
  } finally {
    const exit = await list.stop();
    assert.equal(exit.code, 0, 'the allow-list server exits cleanly (and leak-free under ASan)');
  }
});

// ---- close -------------------------------------------------------------------------------------

test('close packet "1" from the client closes the session (polling and websocket)', async () => {
  let { sid } = await handshake(srv.port);
  const a = await HttpConn.open(srv.port);
  const pending = a.send('GET', pollQuery(sid));
  await sleep(50);
  // packets after the close packet in the same payload are not delivered
  assert.equal((await post(srv.port, sid, `4a${SEP}1${SEP}4b`)).body, 'ok');
  const r = await pending;
  assert.equal(r.body, '6', 'the waiting GET ends with a noop, as the reference\'s polling transport (the echo of "a" was dropped with the session)');
  assertError(await once(srv.port, 'GET', pollQuery(sid)), 1, 'after the close packet');
  a.close();

  const ws = await WsPeer.open(srv.port, 'EIO=4&transport=websocket');
  sid = JSON.parse((await ws.next()).slice(1)).sid;
  ws.send('1');
  const closed = await ws.waitClose();
  assert.equal(closed.code, 1000, 'the server closes the websocket normally');
  assertError(await once(srv.port, 'GET', pollQuery(sid)), 1, 'websocket session gone');
});

test('transport close: a dropped websocket or a dropped waiting GET ends the session', async () => {
  const ws = await WsPeer.open(srv.port, 'EIO=4&transport=websocket');
  const wsid = JSON.parse((await ws.next()).slice(1)).sid;
  ws.terminate();
  await gone(srv.port, wsid, 'after the websocket dropped');

  const { sid } = await handshake(srv.port);
  const c = await HttpConn.open(srv.port);
  c.send('GET', pollQuery(sid)).catch(() => {});
  await sleep(50);
  c.close();
  await gone(srv.port, sid, 'after the waiting GET dropped');
});

// ---- heartbeat --------------------------------------------------------------------------------

test('heartbeat (polling): "2" every pingInterval; answering "3" keeps the session', async () => {
  const { open, sid } = await handshake(beat.port);
  assert.equal(open.pingInterval, 100);
  assert.equal(open.pingTimeout, 2000);
  const c = await HttpConn.open(beat.port);
  const N = 22; // 2.2 s or more: longer than pingInterval + pingTimeout
  const t0 = Date.now();
  for (let i = 0; i < N; i++) {
    const g = await c.send('GET', pollQuery(sid));
    assert.equal(g.body, '2', `ping ${i}`);
    assert.equal((await post(beat.port, sid, '3')).body, 'ok');
  }
  const elapsed = Date.now() - t0;
  // the server never pings early: N pings take at least N intervals (minus timer slack)
  assert.ok(elapsed >= N * 100 - 40, `${N} pings in ${elapsed} ms`);
  assert.equal((await post(beat.port, sid, '4alive')).body, 'ok');
  const g = await c.send('GET', pollQuery(sid));
  assert.ok(g.body === '4alive' || g.body === `2${SEP}4alive` || g.body === `4alive${SEP}2`,
    `the session still echoes: ${JSON.stringify(g.body)}`);
  await post(beat.port, sid, '1');
  c.close();
});

test('heartbeat (websocket): "2" every pingInterval; answering "3" keeps the session', async () => {
  const ws = await WsPeer.open(beat.port, 'EIO=4&transport=websocket');
  await ws.next();
  for (let i = 0; i < 22; i++) { // longer than pingInterval + pingTimeout
    assert.equal(await ws.next(3000), '2', `ping ${i}`);
    ws.send('3');
  }
  ws.send('4alive');
  assert.equal(await ws.nextData(), '4alive');
  ws.close();
  await ws.waitClose();
});

test('ping timeout: unanswered pings end the session (polling and websocket)', async () => {
  // polling, with a GET waiting when the timeout strikes
  let { sid } = await handshake(fast.port);
  const c = await HttpConn.open(fast.port);
  assert.equal((await c.send('GET', pollQuery(sid))).body, '2');
  // no pong: this GET waits and is released by the close packet (or, if a loaded
  // machine delays it past the 100 ms timeout, finds the session gone)
  const r = await c.send('GET', pollQuery(sid));
  assert.ok(r.body === '1' || r.body === ERRORS[1], `after an unanswered ping: ${r.body}`);
  assertError(await c.send('GET', pollQuery(sid)), 1, 'after the ping timeout');
  c.close();

  // polling, with nothing waiting
  ({ sid } = await handshake(fast.port));
  await sleep(400);
  assertError(await once(fast.port, 'GET', pollQuery(sid)), 1, 'idle session after the ping timeout');

  // websocket
  const ws = await WsPeer.open(fast.port, 'EIO=4&transport=websocket');
  const wsid = JSON.parse((await ws.next()).slice(1)).sid;
  assert.equal(await ws.next(), '2');
  const closed = await ws.waitClose(3000);
  assert.ok(closed, 'the server closes the websocket');
  assertError(await once(fast.port, 'GET', pollQuery(wsid)), 1, 'websocket session after the ping timeout');
});

// ---- upgrade ---------------------------------------------------------------------------------------

test('upgrade by hand: 2probe -> 3probe, the waiting GET gets "6", then "5" moves the session', async () => {
  const { sid } = await handshake(srv.port);
  const a = await HttpConn.open(srv.port);
  const pending = a.send('GET', pollQuery(sid));
  await sleep(50);
  const ws = await WsPeer.open(srv.port, `EIO=4&transport=websocket&sid=${sid}`);
  assert.equal(await wsAcceptedThenClosed(srv.port, `EIO=4&transport=websocket&sid=${sid}`), 1000,
    'a second websocket while one is being probed: accepted, then closed');
  ws.send('2probe');
  assert.equal(await ws.next(), '3probe');
  const released = await pending;
  assert.equal(released.status, 200);
  assert.equal(released.body, '6', 'the waiting GET is released with a noop');

  // a message that arrives by polling before "5": its echo must not be lost
  assert.equal((await post(srv.port, sid, '4during the upgrade')).body, 'ok');
  ws.send('5');
  assert.equal(await ws.next(), '4during the upgrade', 'what was queued goes out on the websocket');
  ws.send('4après');
  assert.equal(await ws.next(), '4après');
  ws.send(Buffer.from([9, 8, 7]));
  assert.deepEqual(await ws.next(), Buffer.from([9, 8, 7]));

  // polling is over for this session; so is another websocket
  assertError(await once(srv.port, 'GET', pollQuery(sid)), 3, 'polling after the upgrade');
  assert.equal(await wsAcceptedThenClosed(srv.port, `EIO=4&transport=websocket&sid=${sid}`), 1000,
    'a websocket with the sid of an upgraded session: accepted, then closed (not a 400)');
  ws.send('4still');
  assert.equal(await ws.next(), '4still');
  ws.send('1');
  await ws.waitClose();
  assertError(await once(srv.port, 'GET', pollQuery(sid)), 1, 'closed by the close packet on the websocket');
  a.close();
});

test('upgrade: a GET that comes after the probe is released at once, so the client can pause', async () => {
  // a client that polls again before it reads "3probe" (the race engine.io-client
  // runs into): its new GET must not wait for the next ping to be released
  const { sid } = await handshake(srv.port);
  const a = await HttpConn.open(srv.port);
  const first = a.send('GET', pollQuery(sid));
  await sleep(50);
  const ws = await WsPeer.open(srv.port, `EIO=4&transport=websocket&sid=${sid}`);
  ws.send('2probe');
  assert.equal((await first).body, '6');
  const t0 = Date.now();
  const second = await a.send('GET', pollQuery(sid), { timeoutMs: PING_INTERVAL / 2 });
  assert.equal(second.body, '6', 'the GET that came during the probe gets a noop');
  assert.ok(Date.now() - t0 < PING_INTERVAL / 2, 'without waiting for a ping');
  assert.equal(await ws.next(), '3probe');
  ws.send('5');
  ws.send('4done');
  assert.equal(await ws.next(), '4done');
  ws.send('1');
  await ws.waitClose();
  a.close();
});

test('upgrade with no GET waiting: the queued echo goes out on the websocket, the noop does not', async () => {
  const { sid } = await handshake(srv.port);
  assert.equal((await post(srv.port, sid, '4queued')).body, 'ok');
  const ws = await WsPeer.open(srv.port, `EIO=4&transport=websocket&sid=${sid}`);
  ws.send('2probe');
  assert.equal(await ws.next(), '3probe');
  ws.send('5');
  assert.equal(await ws.next(), '4queued');
  ws.send('4next');
  assert.equal(await ws.next(), '4next', 'nothing (no noop) came in between');
  ws.send('1');
  await ws.waitClose();
});

test('a ping timeout during the upgrade probe closes the probe and the session', async () => {
  const { sid } = await handshake(fast.port);
  const ws = await WsPeer.open(fast.port, `EIO=4&transport=websocket&sid=${sid}`);
  ws.send('2probe');
  assert.equal(await ws.next(), '3probe');
  // no "5", no pong: the ping waits in the polling queue and times out
  const closed = await ws.waitClose(5000);
  assert.equal(closed.code, 1000);
  assertError(await once(fast.port, 'GET', pollQuery(sid)), 1, 'the session is gone');
});

test('a failed probe leaves the session on polling', async () => {
  const { sid } = await handshake(srv.port);
  const ws = await WsPeer.open(srv.port, `EIO=4&transport=websocket&sid=${sid}`);
  ws.send('4not a probe');
  const closed = await ws.waitClose();
  assert.equal(closed.code, 1002);
  assert.equal((await post(srv.port, sid, '4after')).body, 'ok');
  const g = await once(srv.port, 'GET', pollQuery(sid));
  assert.equal(g.body, '4after');
  // and a new probe may follow
  const ws2 = await WsPeer.open(srv.port, `EIO=4&transport=websocket&sid=${sid}`);
  ws2.send('2probe');
  assert.equal(await ws2.next(), '3probe');
  ws2.terminate();
  await sleep(50);
  assert.ok(await alive(srv.port, sid), 'a dropped probe does not end the session');
  await post(srv.port, sid, '1');
});

// ---- websocket transport details ---------------------------------------------------------------------

test('websocket: a fragmented message is one packet; a ping frame in between is answered', async () => {
  const ws = await WsPeer.open(srv.port, 'EIO=4&transport=websocket');
  await ws.next();
  let pongs = 0;
  ws.ws.on('pong', () => { pongs++; });
  ws.ws.send('4frag', { fin: false });
  ws.ws.ping('x');
  ws.ws.send('mented ✓', { fin: true });
  assert.equal(await ws.next(), '4fragmented ✓');
  assert.equal(pongs, 1, 'the control frame between fragments was answered');
  ws.close();
  await ws.waitClose();
});

test('websocket: an unknown packet type or invalid UTF-8 ends the session', async () => {
  for (const [what, bad] of [['packet type 9', '9nine'], ['an empty text frame', ''],
    ['invalid UTF-8', Buffer.from([0x34, 0xc3, 0x28])]]) {
    const ws = await WsPeer.open(srv.port, 'EIO=4&transport=websocket');
    const sid = JSON.parse((await ws.next()).slice(1)).sid;
    ws.ws.send(bad, { binary: false });
    const closed = await ws.waitClose();
    assert.ok(closed.code === 1000 || closed.code === 1007, `${what}: closed with ${closed.code}`);
    assertError(await once(srv.port, 'GET', pollQuery(sid)), 1, `${what}: the session is gone`);
  }
});
