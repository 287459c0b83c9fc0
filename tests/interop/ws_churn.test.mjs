// Receivers leaving a busy room while one client floods it (issue 12, finding
// 1): with output queued on >= 64 WebSocket connections after a turn that
// read input, the flush is deferred (output coalescing); a connection on that
// pending list whose peer went away was freed while still listed, and the
// next flush read and wrote the freed block. The ASan build of the server
// turns that into a crash or a report on stderr; here the server must stay
// up, say nothing, and exit 0 at SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import WebSocket from 'ws';
import { startServer } from './lib/server.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A Socket.IO client over a raw WebSocket in /chat; we never answer pings: the
// test ends long before the server's ping timeout (RELAXED values below).
function joinChat(port) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`);
    ws.received = 0;
    const timer = setTimeout(() => reject(new Error('no CONNECT answer')), 10000);
    ws.on('message', (d) => {
      const s = d.toString();
      if (s[0] === '0') ws.send('40/chat,');
      else if (s.startsWith('40/chat,')) { clearTimeout(timer); resolve(ws); }
      else if (s.startsWith('42/chat,')) ws.received++;
    });
    ws.on('error', () => {});
  });
}

// How a receiver leaves: a close frame, a FIN, or a RST.
function leave(ws, how) {
  if (how === 0) ws.close(1000);
  else if (how === 1) ws._socket.end();
  else ws._socket.resetAndDestroy();
}

test('receivers leave a flooded room of 120 one by one: no memory error', async () => {
  const srv = await startServer('sio-test-server', ['--ping-interval', '20000', '--ping-timeout', '20000']);
  try {
    const receivers = [];
    for (let i = 0; i < 120; i++) receivers.push(await joinChat(srv.port));
    const sender = await joinChat(srv.port);
    let flooding = true;
    const flood = (async () => {
      const msg = `42/chat,["msg_to_server",${JSON.stringify('x'.repeat(200))}]`;
      while (flooding) {
        for (let i = 0; i < 50; i++) sender.send(msg);
        await sleep(1);
      }
    })();
    await sleep(200);
    for (let i = 0; i < receivers.length; i++) {
      leave(receivers[i], i % 3);
      await sleep(i % 10 === 0 ? 20 : 3);
    }
    flooding = false;
    await flood;
    assert.ok(receivers.some((r) => r.received > 0), 'the room got the broadcasts');
    // the server still answers
    const late = await joinChat(srv.port);
    late.close();
    sender.close();
    await sleep(100);
    assert.equal(srv.child.exitCode, null, `server died: ${srv.stderr()}`);
  } finally {
    const r = await srv.stop();
    assert.doesNotMatch(srv.stderr(), /AddressSanitizer|runtime error|LeakSanitizer/);
    assert.equal(r.code, 0, `exit ${r.code ?? r.signal}`);
  }
});
