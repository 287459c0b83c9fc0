// The WebSocket layer byte by byte: raw TCP sockets do the opening handshake
// by hand and send crafted frames, one test per rule of RFC 6455 a client can
// break, each asserting the close code the RFC requires in the server's close
// frame; then the handshake refusals. After every violation a fresh
// connection must still be served. The server is ws-echo-server (tests/helpers).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import zlib from 'node:zlib';
import { startServer } from './lib/server.mjs';
import { connect, ResponseReader, sleep } from './lib/rawhttp.mjs';
import { OP, acceptFor, closeBody, frame, handshakeRequest, openRaw, FrameReader } from './lib/rawws.mjs';

const MAX_MESSAGE = 65536;
let srv;

before(async () => {
  srv = await startServer('ws-echo-server', ['--max-message', String(MAX_MESSAGE), '--close-timeout', '3000']);
});

after(async () => {
  const r = await srv.stop();
  assert.equal(r.code, 0, 'server exits cleanly (and leak-free under ASan) on SIGTERM');
});

async function open(opts) {
  const c = await openRaw(srv.port, opts);
  assert.equal(c.res.status, 101, `handshake accepted: ${c.res.statusLine}`);
  return c;
}

// A new connection still echoes, and closes cleanly.
async function assertServes() {
  const { socket, reader } = await open();
  socket.write(frame({ opcode: OP.TEXT, payload: 'still alive' }));
  const f = await reader.next();
  assert.equal(f.opcode, OP.TEXT);
  assert.equal(f.payload.toString(), 'still alive');
  socket.write(frame({ opcode: OP.CLOSE, payload: closeBody(1000) }));
  const c = await reader.next();
  assert.equal(c.opcode, OP.CLOSE);
  assert.equal(c.code, 1000);
  await reader.waitClose();
}

/*
 * Opens a connection, writes the given frames (one write, or one per frame
 * with `separately`), and asserts that the server answers with a close frame
 * carrying `code`, sends no data frame before it, and closes the TCP
 * connection. Then checks that the server still serves others.
 */
async function expectClose(frames, code, { separately = false, echoes = [] } = {}) {
  const { socket, reader } = await open();
  if (separately) {
    for (const f of frames) { socket.write(f); await sleep(20); }
  } else {
    socket.write(Buffer.concat(frames));
  }
  const got = [];
  let f;
  for (let i = 0; i < 100; i++) {
    f = await reader.next();
    if (!f || f.opcode === OP.CLOSE) break;
    got.push(f.payload.toString());
  }
  assert.deepEqual(got, echoes, 'data frames before the close');
  assert.ok(f, 'the server sent a close frame before closing TCP');
  assert.equal(f.opcode, OP.CLOSE);
  assert.equal(f.rsv, 0);
  assert.ok(f.fin);
  assert.equal(f.code, code, `close code (reason "${f.reason}")`);
  assert.equal(reader.error, null);
  await reader.waitClose();
  await assertServes();
  return f;
}

// ---- framing violations: 1002 -----------------------------------------------------

test('unmasked frame: 1002', async () => {
  await expectClose([frame({ opcode: OP.TEXT, payload: 'hello', mask: false })], 1002);
});

test('reserved opcodes 3 and 0xB: 1002', async () => {
  await expectClose([frame({ opcode: 0x3, payload: 'x' })], 1002);
  await expectClose([frame({ opcode: 0xb, payload: 'x' })], 1002);
  // the same after a valid message: that one is echoed first
  await expectClose([frame({ opcode: OP.TEXT, payload: 'ok' }), frame({ opcode: 0x7 })], 1002,
    { echoes: ['ok'] });
});

test('RSV1, RSV2 or RSV3 set without an extension: 1002', async () => {
  for (const rsv of [4, 2, 1]) await expectClose([frame({ opcode: OP.TEXT, rsv, payload: 'x' })], 1002);
  // RSV1 on a control frame is refused too
  await expectClose([frame({ opcode: OP.PING, rsv: 4 })], 1002);
});

test('control frame over 125 bytes: 1002', async () => {
  await expectClose([frame({ opcode: OP.PING, payload: Buffer.alloc(126, 1) })], 1002);
  // a 125-byte ping is fine, and is answered with the same payload
  const { socket, reader } = await open();
  const p = Buffer.alloc(125, 0x5a);
  socket.write(frame({ opcode: OP.PING, payload: p }));
  const f = await reader.next();
  assert.equal(f.opcode, OP.PONG);
  assert.ok(f.payload.equals(p));
  socket.destroy();
});

test('fragmented ping: 1002', async () => {
  await expectClose([frame({ opcode: OP.PING, fin: false, payload: 'a' }),
    frame({ opcode: OP.CONT, payload: 'b' })], 1002);
});

test('continuation without a message started: 1002', async () => {
  await expectClose([frame({ opcode: OP.CONT, payload: 'orphan' })], 1002);
  // also right after a complete message
  await expectClose([frame({ opcode: OP.TEXT, payload: 'done' }), frame({ opcode: OP.CONT, payload: 'x' })],
    1002, { echoes: ['done'] });
});

test('new data frame inside a fragmented message: 1002', async () => {
  await expectClose([frame({ opcode: OP.TEXT, fin: false, payload: 'part1' }),
    frame({ opcode: OP.TEXT, payload: 'other' })], 1002);
  await expectClose([frame({ opcode: OP.BINARY, fin: false, payload: 'part1' }),
    frame({ opcode: OP.CONT, fin: false, payload: 'part2' }),
    frame({ opcode: OP.BINARY, payload: 'other' })], 1002, { separately: true });
});

test('length not in its shortest form: 1002', async () => {
  await expectClose([frame({ opcode: OP.TEXT, payload: 'short', lenForm: 16 })], 1002);
  await expectClose([frame({ opcode: OP.TEXT, payload: Buffer.alloc(125, 0x61), lenForm: 16 })], 1002);
  await expectClose([frame({ opcode: OP.BINARY, payload: Buffer.alloc(200), lenForm: 64 })], 1002);
  await expectClose([frame({ opcode: OP.BINARY, payload: Buffer.alloc(65535), lenForm: 64 })], 1002);
  // the shortest forms at the boundaries are accepted
  const { socket, reader } = await open();
  for (const n of [125, 126, 65535]) {
    socket.write(frame({ opcode: OP.BINARY, payload: Buffer.alloc(n, n & 0xff) }));
    const f = await reader.next();
    assert.equal(f.payload.length, n);
  }
  socket.destroy();
});

test('64-bit length with the high bit set: 1002', async () => {
  await expectClose([frame({ opcode: OP.BINARY, rawLen: 0x8000000000000005n }).subarray(0, 14)], 1002);
  await expectClose([frame({ opcode: OP.BINARY, rawLen: 0xffffffffffffffffn }).subarray(0, 14)], 1002);
});

test('close frame with a 1-byte body: 1002', async () => {
  await expectClose([frame({ opcode: OP.CLOSE, payload: Buffer.from([0x03]) })], 1002);
});

test('close codes that may not be sent: 1002', async () => {
  for (const code of [1004, 1005, 1006, 1015, 999, 5000, 0, 2999]) {
    await expectClose([frame({ opcode: OP.CLOSE, payload: closeBody(code) })], 1002);
  }
});

test('valid close codes are echoed', async () => {
  for (const code of [1000, 1001, 1003, 1007, 1011, 3000, 4999]) {
    const { socket, reader } = await open();
    socket.write(frame({ opcode: OP.CLOSE, payload: closeBody(code, 'bye') }));
    const f = await reader.next();
    assert.equal(f.opcode, OP.CLOSE);
    assert.equal(f.code, code);
    await reader.waitClose();
  }
  // an empty close body is answered with an empty one (1005 is never sent)
  const { socket, reader } = await open();
  socket.write(frame({ opcode: OP.CLOSE }));
  const f = await reader.next();
  assert.equal(f.opcode, OP.CLOSE);
  assert.equal(f.payload.length, 0);
  await reader.waitClose();
});

// ---- invalid data: 1007 -------------------------------------------------------------

test('close reason that is not UTF-8: 1007', async () => {
  await expectClose([frame({ opcode: OP.CLOSE, payload: closeBody(1000, Buffer.from([0x61, 0xff, 0x62])) })], 1007);
  // a truncated character at the end of the reason
  await expectClose([frame({ opcode: OP.CLOSE, payload: closeBody(1000, Buffer.from([0x61, 0xe2, 0x82])) })], 1007);
});

test('text message that is not UTF-8: 1007', async () => {
  const bad = [
    [0xff],
    [0xc0, 0xaf], // overlong '/'
    [0xed, 0xa0, 0x80], // UTF-16 surrogate
    [0xf4, 0x90, 0x80, 0x80], // past U+10FFFF
    [0x61, 0xe2, 0x82], // truncated at the end
  ];
  for (const b of bad) await expectClose([frame({ opcode: OP.TEXT, payload: Buffer.from(b) })], 1007);
  // invalid bytes in binary messages are data, not an error
  const { socket, reader } = await open();
  socket.write(frame({ opcode: OP.BINARY, payload: Buffer.from([0xff, 0xfe]) }));
  const f = await reader.next();
  assert.equal(f.opcode, OP.BINARY);
  assert.deepEqual([...f.payload], [0xff, 0xfe]);
  socket.destroy();
});

test('invalid UTF-8 split across fragments: 1007', async () => {
  // E2 82 starts a 3-byte character; the next fragment continues it with '('
  await expectClose([frame({ opcode: OP.TEXT, fin: false, payload: Buffer.from([0x61, 0xe2, 0x82]) }),
    frame({ opcode: OP.CONT, payload: Buffer.from([0x28, 0x62]) })], 1007, { separately: true });
  // a message that ends in the middle of a character
  await expectClose([frame({ opcode: OP.TEXT, fin: false, payload: Buffer.from([0x61]) }),
    frame({ opcode: OP.CONT, payload: Buffer.from([0xf0, 0x9f, 0x98]) })], 1007, { separately: true });
  // a bad byte fails at once, before the message is complete
  await expectClose([frame({ opcode: OP.TEXT, fin: false, payload: Buffer.from([0x61, 0xff]) })], 1007);
  // a character split across fragments (and across TCP writes) is fine
  const { socket, reader } = await open();
  const euro = Buffer.from('x€y');
  socket.write(frame({ opcode: OP.TEXT, fin: false, payload: euro.subarray(0, 2) }));
  await sleep(20);
  socket.write(frame({ opcode: OP.CONT, fin: false, payload: euro.subarray(2, 3) }));
  await sleep(20);
  socket.write(frame({ opcode: OP.CONT, payload: euro.subarray(3) }));
  const f = await reader.next();
  assert.equal(f.opcode, OP.TEXT);
  assert.equal(f.payload.toString(), 'x€y');
  socket.destroy();
});

// ---- too big: 1009 ------------------------------------------------------------------

test('message over the maximum size: 1009', async () => {
  // refused from the declared length, before the payload arrives
  await expectClose([frame({ opcode: OP.BINARY, payload: Buffer.alloc(MAX_MESSAGE + 1) }).subarray(0, 14)], 1009);
  // a fragmented message whose fragments add up to too much
  await expectClose([frame({ opcode: OP.TEXT, fin: false, payload: Buffer.alloc(40000, 0x61) }),
    frame({ opcode: OP.CONT, payload: Buffer.alloc(40000, 0x61) })], 1009);
  // exactly the maximum is fine
  const { socket, reader } = await open();
  socket.write(frame({ opcode: OP.BINARY, payload: Buffer.alloc(MAX_MESSAGE, 7) }));
  const f = await reader.next();
  assert.equal(f.payload.length, MAX_MESSAGE);
  socket.destroy();
});

test('a failed connection: the close frame arrives while the client keeps sending, then a bounded linger', async () => {
  const lg = await startServer('ws-echo-server', ['--max-message', '65536', '--close-timeout', '600']);
  try {
    // allowHalfOpen: this client does not end its side when the server half-closes
    const socket = await new Promise((resolve, reject) => {
      const s = net.connect({ port: lg.port, host: '127.0.0.1', allowHalfOpen: true }, () => resolve(s));
      s.once('error', reject);
    });
    const reader = new FrameReader(socket);
    socket.write(handshakeRequest());
    assert.equal((await reader.handshake()).status, 101);
    // declare 8 MB, then stream payload: the server refuses it from the header
    socket.write(frame({ opcode: OP.BINARY, payload: Buffer.alloc(8 << 20) }).subarray(0, 14));
    const chunk = Buffer.alloc(64 * 1024, 0x55);
    let f;
    let t0 = 0;
    const closeFrame = reader.nextClose(5000).then((x) => { f = x; t0 = Date.now(); });
    let endedAt = 0;
    socket.on('end', () => { endedAt = Date.now(); });
    // keep sending (at most 400 chunks, 2 s) until the server has closed
    for (let i = 0; i < 400 && !reader.closed; i++) {
      socket.write(chunk);
      await sleep(5);
    }
    await closeFrame;
    assert.ok(f, 'the close frame was not lost to a reset');
    assert.equal(f.code, 1009);
    await reader.waitClose(5000);
    const lingered = Date.now() - t0;
    assert.ok(endedAt && endedAt - t0 < 400, 'the server half-closes once the close frame is out');
    assert.ok(lingered >= 400 && lingered < 3000, `closed ${lingered} ms after the close frame (timeout 600)`);
    socket.destroy();
    const st = await openRawStats(lg.port);
    assert.equal(st.connections, 1);
  } finally {
    assert.equal((await lg.stop()).code, 0);
  }
});

// The echo server's counters, on a fresh raw connection.
async function openRawStats(port) {
  const { socket, reader, res } = await openRaw(port);
  assert.equal(res.status, 101);
  socket.write(frame({ opcode: OP.TEXT, payload: 'stats' }));
  const f = await reader.next();
  socket.destroy();
  return JSON.parse(f.payload.toString());
}

// ---- valid framing the server must accept ------------------------------------------

test('control frames between fragments, frames split across writes, frames with the handshake', async () => {
  const { socket, reader } = await open();
  socket.write(frame({ opcode: OP.TEXT, fin: false, payload: 'he' }));
  socket.write(frame({ opcode: OP.PING, payload: 'p1' }));
  socket.write(frame({ opcode: OP.PONG, payload: 'unsolicited' }));
  socket.write(frame({ opcode: OP.CONT, fin: false, payload: 'll' }));
  socket.write(frame({ opcode: OP.CONT, payload: 'o' }));
  let f = await reader.next();
  assert.equal(f.opcode, OP.PONG);
  assert.equal(f.payload.toString(), 'p1');
  f = await reader.next();
  assert.equal(f.opcode, OP.TEXT);
  assert.equal(f.payload.toString(), 'hello');
  // one frame written a byte at a time
  const bytes = frame({ opcode: OP.BINARY, payload: Buffer.from('byte by byte, 1234567890') });
  for (const b of bytes) { socket.write(Buffer.from([b])); await sleep(2); }
  f = await reader.next();
  assert.equal(f.payload.toString(), 'byte by byte, 1234567890');
  socket.destroy();

  // frames written together with the handshake request are not lost
  const s2 = await connect(srv.port);
  const r2 = new FrameReader(s2);
  s2.write(Buffer.concat([Buffer.from(handshakeRequest()), frame({ opcode: OP.TEXT, payload: 'early' }),
    frame({ opcode: OP.TEXT, payload: 'bird' })]));
  assert.equal((await r2.handshake()).status, 101);
  assert.equal((await r2.next()).payload.toString(), 'early');
  assert.equal((await r2.next()).payload.toString(), 'bird');
  s2.destroy();
});

test('permessage-deflate on the wire: the server compresses, and inflates what it gets', async () => {
  const d = await startServer('ws-echo-server', ['--deflate']);
  try {
    const s = await connect(d.port);
    const rd = new FrameReader(s);
    // server_no_context_takeover: each server message can be inflated alone here
    s.write(handshakeRequest({ headers: {
      'Sec-WebSocket-Extensions': 'permessage-deflate; server_no_context_takeover; client_max_window_bits' } }));
    const res = await rd.handshake();
    assert.equal(res.status, 101);
    assert.match(res.headers['sec-websocket-extensions'], /^permessage-deflate/);
    assert.match(res.headers['sec-websocket-extensions'], /server_no_context_takeover/);
    const text = 'compress me please '.repeat(1000);
    // uncompressed from us; compressed (RSV1, much smaller) from the server
    s.write(frame({ opcode: OP.TEXT, payload: text }));
    let f = await rd.next();
    assert.equal(f.rsv, 4, 'RSV1 set on the compressed echo');
    assert.ok(f.payload.length < text.length / 10, `compressed to ${f.payload.length} bytes`);
    const tail = Buffer.from([0, 0, 0xff, 0xff]);
    const inflate = (b) => zlib.inflateRawSync(Buffer.concat([b, tail]),
      { finishFlush: zlib.constants.Z_SYNC_FLUSH }).toString();
    assert.equal(inflate(f.payload), text);
    // compressed from us, with the tail stripped (RFC 7692 7.2.1)
    const z = zlib.deflateRawSync(Buffer.from(text), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    assert.ok(z.subarray(-4).equals(tail));
    s.write(frame({ opcode: OP.TEXT, rsv: 4, payload: z.subarray(0, -4) }));
    f = await rd.next();
    assert.equal(inflate(f.payload), text);
    // short messages are sent uncompressed
    s.write(frame({ opcode: OP.TEXT, payload: 'tiny' }));
    f = await rd.next();
    assert.equal(f.rsv, 0);
    assert.equal(f.payload.toString(), 'tiny');
    // RSV1 on a continuation frame is a protocol error even with the extension
    s.write(frame({ opcode: OP.TEXT, fin: false, payload: 'a' }));
    s.write(frame({ opcode: OP.CONT, rsv: 4, payload: 'b' }));
    f = await rd.nextClose();
    assert.equal(f.code, 1002);
    await rd.waitClose();
    // corrupt compressed data: 1007
    const s2 = await connect(d.port);
    const rd2 = new FrameReader(s2);
    s2.write(handshakeRequest({ headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate' } }));
    assert.equal((await rd2.handshake()).status, 101);
    s2.write(frame({ opcode: OP.BINARY, rsv: 4, payload: Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]) }));
    f = await rd2.nextClose();
    assert.equal(f.code, 1007);
    await rd2.waitClose();
  } finally {
    assert.equal((await d.stop()).code, 0);
  }
});

// ---- the opening handshake -------------------------------------------------------------

async function handshakeStatus(opts) {
  const s = await connect(srv.port);
  const rd = new ResponseReader(s);
  s.write(typeof opts === 'string' ? opts : handshakeRequest(opts));
  const res = await rd.next();
  assert.ok(res, 'an HTTP answer');
  if (res.status !== 101 && res.headers.connection === 'keep-alive') {
    // not an upgrade request at all (no "upgrade" in Connection): the
    // connection stays HTTP, and a second request is answered the same way
    s.write(typeof opts === 'string' ? opts : handshakeRequest(opts));
    const again = await rd.next();
    assert.equal(again?.status, res.status, 'the kept-alive connection still answers');
  } else if (res.status !== 101) {
    assert.equal(res.headers.connection, 'close', 'a refused upgrade closes the connection');
    await rd.waitClose();
  }
  s.destroy();
  return res;
}

test('Sec-WebSocket-Accept for the RFC 6455 sample key', async () => {
  const key = 'dGhlIHNhbXBsZSBub25jZQ==';
  assert.equal(acceptFor(key), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  const { res, socket } = await open({ key });
  assert.equal(res.headers['sec-websocket-accept'], 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  assert.equal(res.headers.upgrade.toLowerCase(), 'websocket');
  assert.match(res.headers.connection, /upgrade/i);
  assert.equal(res.headers['sec-websocket-extensions'], undefined, 'no extension without an offer');
  socket.destroy();
});

test('missing or invalid Sec-WebSocket-Key: 400', async () => {
  const keys = [null, '', 'abc', 'dGhlIHNhbXBsZSBub25jZQ', 'dGhlIHNhbXBsZSBub25jZQ===',
    '!!!!!!!!!!!!!!!!!!!!!!==', Buffer.alloc(17, 1).toString('base64'), Buffer.alloc(15, 1).toString('base64')];
  for (const k of keys) {
    const res = await handshakeStatus({ headers: { 'Sec-WebSocket-Key': k } });
    assert.equal(res.status, 400, `key ${JSON.stringify(k)}`);
  }
  await assertServes();
});

test('an HTTP/1.0 upgrade request is refused: RFC 6455 needs HTTP/1.1', async () => {
  const res = await handshakeStatus(handshakeRequest().replace('HTTP/1.1', 'HTTP/1.0'));
  assert.equal(res.status, 400);
  await assertServes();
});

test('Sec-WebSocket-Version other than 13: 426 with Sec-WebSocket-Version: 13', async () => {
  for (const v of ['8', '12', '14', 'x']) {
    const res = await handshakeStatus({ headers: { 'Sec-WebSocket-Version': v } });
    assert.equal(res.status, 426, `version ${v}`);
    assert.equal(res.headers['sec-websocket-version'], '13');
  }
  const res = await handshakeStatus({ headers: { 'Sec-WebSocket-Version': null } });
  assert.ok(res.status === 400 || res.status === 426, `no version: ${res.status}`);
  await assertServes();
});

test('Connection without the upgrade token, or a wrong Upgrade: 400', async () => {
  for (const headers of [
    { Connection: 'keep-alive' },
    { Connection: null },
    { Connection: 'upgrades' },
    { Upgrade: null },
    { Upgrade: 'h2c' },
  ]) {
    const res = await handshakeStatus({ headers });
    assert.equal(res.status, 400, JSON.stringify(headers));
  }
  await assertServes();
});

test('POST (or another method) is refused', async () => {
  for (const method of ['POST', 'PUT', 'DELETE']) {
    const res = await handshakeStatus({ method, headers: { 'Content-Length': '0' } });
    assert.ok(res.status === 400 || res.status === 405, `${method}: ${res.status}`);
  }
  await assertServes();
});

test('valid variations of the handshake are accepted', async () => {
  const variants = [
    { Connection: 'keep-alive, Upgrade' },
    { Connection: 'Upgrade, keep-alive' },
    { Connection: 'UPGRADE' },
    { Connection: 'keep-alive,upgrade' },
    { Upgrade: 'WebSocket' },
    { Upgrade: 'websocket' },
    { 'Sec-WebSocket-Extensions': 'x-unknown-extension' },
    { 'Sec-WebSocket-Protocol': 'chat, superchat' },
    { Origin: 'http://example.com' },
  ];
  for (const headers of variants) {
    const { res, socket, reader } = await open({ headers });
    assert.equal(res.status, 101, JSON.stringify(headers));
    assert.equal(res.headers['sec-websocket-extensions'], undefined);
    assert.equal(res.headers['sec-websocket-protocol'], undefined, 'no subprotocol is chosen');
    socket.write(frame({ opcode: OP.TEXT, payload: 'v' }));
    assert.equal((await reader.next()).payload.toString(), 'v');
    socket.destroy();
  }
  // header names in any case, key with surrounding spaces
  const key = 'dGhlIHNhbXBsZSBub25jZQ==';
  const raw = `GET /ws HTTP/1.1\r\nhost: x\r\nuPgRaDe: WEBSOCKET\r\nCONNECTION: upgrade\r\n` +
    `sec-websocket-key:   ${key}  \r\nSEC-WEBSOCKET-VERSION: 13\r\n\r\n`;
  const s = await connect(srv.port);
  const rd = new FrameReader(s);
  s.write(raw);
  const res = await rd.handshake();
  assert.equal(res.status, 101);
  assert.equal(res.headers['sec-websocket-accept'], acceptFor(key));
  s.destroy();
});
