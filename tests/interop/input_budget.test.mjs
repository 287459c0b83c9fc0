// Request input held by many connections at once (found by bench/hostile.mjs):
// a client that announces a large body, sends most of it and stops, or a
// WebSocket client that sends most of a large message and stops, held up to
// max_body / max_message_size each until a timeout, times max_connections.
// The server now charges every byte of input it holds (unparsed bytes, heads,
// bodies, messages being reassembled) to one total, max_input_buffered: the
// connection that would take it past the bound is refused (503) or closed
// (1008), and the memory stays bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startServer } from './lib/server.mjs';
import { connect, ResponseReader, sleep } from './lib/rawhttp.mjs';
import { handshakeRequest, frame, OP, FrameReader } from './lib/rawws.mjs';

const MB = 1024 * 1024;
const asan = process.env.ASAN_OPTIONS ? `${process.env.ASAN_OPTIONS}:` : '';
const SMALL_QUARANTINE = { env: { ASAN_OPTIONS: `${asan}quarantine_size_mb=4` } };

function rssMB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]) / 1024;
}

async function stats(port) {
  const s = await connect(port);
  const r = new ResponseReader(s);
  s.write('GET /stats HTTP/1.1\r\nHost: x\r\n\r\n');
  const res = await r.next();
  s.destroy();
  return JSON.parse(res.body);
}

function assertClean(srv, r) {
  assert.doesNotMatch(srv.stderr(), /AddressSanitizer|runtime error|LeakSanitizer/);
  assert.equal(r.code, 0, `exit ${r.code ?? r.signal}`);
}

test('half-sent request bodies on many connections: the input total holds, the rest get 503', async () => {
  const srv = await startServer('http-test-server', ['--max-input', String(8 * MB), '--max-connections', '500'],
    SMALL_QUARANTINE);
  try {
    const before = rssMB(srv.child.pid);
    const part = Buffer.alloc(900000, 0x61);
    const socks = [];
    const answers = [];
    for (let i = 0; i < 60; i++) {
      const s = await connect(srv.port);
      s.on('error', () => {});
      const reader = new ResponseReader(s);
      answers.push(reader.next(20000).catch(() => null));
      s.write(`POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n`);
      s.write(part);
      socks.push(s);
      await sleep(5);
    }
    await sleep(500);
    const grown = rssMB(srv.child.pid) - before;
    const st = await stats(srv.port);
    assert.ok(st.input <= 8 * MB, `input held ${st.input} bytes, bound ${8 * MB}`);
    assert.ok(st.input_refused > 0, 'some bodies were refused');
    assert.ok(grown < 40, `server RSS grew ${grown.toFixed(1)} MB for 54 MB of half bodies`);
    // the refused ones got a 503 (the others still wait for their last bytes)
    for (const s of socks) s.destroy();
    const got = await Promise.all(answers);
    assert.ok(got.some((r) => r && r.status === 503), 'a 503 for a body past the bound');
    await sleep(200);
    const after = await stats(srv.port);
    assert.equal(after.input, 0, 'everything released once the clients left');
    // a whole body still goes through
    const s = await connect(srv.port);
    const r = new ResponseReader(s);
    s.write(`POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n`);
    s.write(Buffer.alloc(1000000, 0x62));
    const ok = await r.next();
    s.destroy();
    assert.equal(ok.status, 200);
    assert.equal(ok.body, '1000000');
  } finally {
    assertClean(srv, await srv.stop());
  }
});

test('WebSocket messages left incomplete on many connections: the input total holds, the rest are closed 1008', async () => {
  const srv = await startServer('ws-echo-server', ['--max-input', String(8 * MB), '--max-message', '1000000'],
    SMALL_QUARANTINE);
  try {
    const before = rssMB(srv.child.pid);
    const conns = [];
    for (let i = 0; i < 60; i++) {
      const socket = await connect(srv.port);
      socket.on('error', () => {});
      const reader = new FrameReader(socket);
      socket.write(handshakeRequest({ path: '/ws' }));
      const res = await reader.handshake();
      assert.equal(res.status, 101);
      // a text frame announcing 999,990 bytes, of which 900,000 come, split
      // in two writes (so the message spans reads and is collected)
      const whole = frame({ opcode: OP.TEXT, payload: Buffer.alloc(999990, 0x61) });
      socket.write(whole.subarray(0, 400000));
      await sleep(2);
      socket.write(whole.subarray(400000, 900000));
      conns.push({ socket, reader });
      await sleep(5);
    }
    await sleep(500);
    const grown = rssMB(srv.child.pid) - before;
    assert.ok(grown < 40, `server RSS grew ${grown.toFixed(1)} MB for 54 MB of incomplete messages`);
    let closed = 0;
    for (const { reader } of conns) {
      const f = await reader.next(300).catch(() => null);
      if (f && f.opcode === OP.CLOSE && f.payload.readUInt16BE(0) === 1008) closed++;
    }
    assert.ok(closed > 0, 'connections past the bound were closed with 1008');
    for (const { socket } of conns) socket.destroy();
  } finally {
    assertClean(srv, await srv.stop());
  }
});
