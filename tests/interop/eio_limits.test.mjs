// Engine.IO limits and edges from issue 12: what a queued packet really costs
// (finding 4), the heartbeat deadline checked on each request (finding 12),
// and the global bounds on sessions and on queued output (finding 5).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import net from 'node:net';
import WebSocket from 'ws';
import { sleep, connect, ResponseReader } from './lib/rawhttp.mjs';
import { HttpConn, once, handshake, pollQuery, rssKiB } from './lib/eio.mjs';
import { handshakeRequest } from './lib/rawws.mjs';

// ASan keeps freed memory in a quarantine (256 MiB by default) that would
// swamp RSS figures; a small one keeps them meaningful (no effect without ASan)
const asan = process.env.ASAN_OPTIONS ? `${process.env.ASAN_OPTIONS}:` : '';
const SMALL_QUARANTINE = { env: { ASAN_OPTIONS: `${asan}quarantine_size_mb=4` } };

function assertClean(srv, r) {
  assert.doesNotMatch(srv.stderr(), /AddressSanitizer|runtime error|LeakSanitizer/);
  assert.equal(r.code, 0, `exit ${r.code ?? r.signal}`);
}

// A polling handshake from a given local address (127.0.0.2: another peer).
async function handshakeFrom(port, localAddress) {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress });
  await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
  const reader = new ResponseReader(socket);
  socket.write(`GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  try { return await reader.next(); } finally { socket.destroy(); }
}

// A masked WebSocket ping frame with no payload: 6 bytes on the wire.
const PING = Buffer.from([0x89, 0x80, 1, 2, 3, 4]);

test('a ping flood from a client that never reads: the pongs are charged at their real cost', async () => {
  const srv = await startServer('sio-test-server', ['--ping-interval', '20000', '--ping-timeout', '20000'],
    SMALL_QUARANTINE);
  try {
    const sock = await connect(srv.port);
    sock.on('error', () => {});
    sock.write(handshakeRequest({ path: '/engine.io/?EIO=4&transport=websocket' }));
    await sleep(200);
    sock.pause(); // never read again: the server's pongs pile up
    const before = rssKiB(srv.child.pid);
    // 25 MB of pings, as in the report (2-byte pongs took +271 MB before)
    const chunk = Buffer.concat(Array(1 << 16).fill(PING)); // 384 KiB
    let sent = 0;
    for (let i = 0; i < 68 && !sock.destroyed; i++) {
      if (!sock.write(chunk)) {
        // the server stopped reading or cut us off: wait for either, bounded
        await Promise.race([new Promise((r) => sock.once('drain', r)), sleep(2000)]);
      }
      sent += chunk.length;
    }
    await sleep(500);
    const grown = rssKiB(srv.child.pid) - before;
    sock.destroy();
    // a pong not yet written is replaced by the next one (RFC 6455 5.5.3), and
    // queued output is charged at its real cost against a 4 MiB limit: a
    // few MB at most, where the previous main took +431 MB
    assert.ok(grown < 16 * 1024, `server RSS grew ${grown} KiB for ${sent} bytes of pings`);
    // still serving
    const { sid } = await handshake(srv.port);
    assert.ok(sid);
  } finally {
    assertClean(srv, await srv.stop());
  }
});

test('heartbeat deadline: a request after pingInterval + pingTimeout finds the session gone, even before the timer ticks', async () => {
  // the /engine.io/ server: pingInterval 300, pingTimeout 200
  const srv = await startServer('sio-test-server', ['--ping-interval', '300', '--ping-timeout', '200']);
  try {
    for (const method of ['POST', 'GET']) {
      for (let round = 0; round < 3; round++) {
        const { sid } = await handshake(srv.port);
        // the deadline is 500 ms after the server armed the heartbeat, which
        // was before we got the open packet; we never answer the ping
        const t0 = Date.now();
        const c = await HttpConn.open(srv.port);
        await sleep(Math.max(0, t0 + 502 - Date.now()));
        while (Date.now() < t0 + 502) { /* the last ms, exactly */ }
        const r = method === 'POST'
          ? await c.send('POST', pollQuery(sid), { body: '6' })
          : await c.send('GET', pollQuery(sid));
        c.close();
        assert.equal(r.status, 400, `${method} after the deadline (round ${round}): ${r.status} ${r.body}`);
        assert.equal(r.body, '{"code":1,"message":"Session ID unknown"}');
      }
    }
  } finally {
    assertClean(srv, await srv.stop());
  }
});

test('CORS "*" with credentials: a literal "*" without credentials, never the request\'s origin (finding 9)', async () => {
  const srv = await startServer('sio-test-server', ['--cors', '*', '--cors-credentials']);
  try {
    const evil = { Origin: 'http://evil.test' };
    const c = await HttpConn.open(srv.port);
    const hs = await c.send('GET', 'EIO=4&transport=polling', { headers: evil });
    assert.equal(hs.status, 200);
    assert.equal(hs.headers['access-control-allow-origin'], '*', 'handshake: a literal "*"');
    assert.equal(hs.headers['access-control-allow-credentials'], undefined, 'handshake: no credentials');
    const pre = await c.send('OPTIONS', 'EIO=4&transport=polling', {
      headers: { ...evil, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'x-evil' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], '*');
    assert.equal(pre.headers['access-control-allow-credentials'], undefined);
    assert.equal(pre.headers['access-control-allow-headers'], undefined, 'asked headers are not echoed');
    c.close();
    assert.match(srv.stderr(), /origin "\*" with credentials/, 'the configuration is warned about at start');
  } finally {
    assertClean(srv, await srv.stop());
  }
});

test('sessions and queued output are bounded server-wide: per address, in total, and by a byte budget (finding 5)', async () => {
  const srv = await startServer('sio-test-server', [
    '--ping-interval', '20000', '--ping-timeout', '20000',
    '--max-sessions', '30', '--max-sessions-per-ip', '25', '--max-buffered-bytes', String(32 << 20),
  ], SMALL_QUARANTINE);
  try {
    const c = await HttpConn.open(srv.port);
    // one keep-alive connection opens sessions until the per-address cap
    const sids = [];
    for (let i = 0; i < 25; i++) {
      const r = await c.send('GET', 'EIO=4&transport=polling');
      assert.equal(r.status, 200, `session ${i}`);
      sids.push(JSON.parse(r.body.slice(1)).sid);
    }
    const refused = await c.send('GET', 'EIO=4&transport=polling');
    assert.equal(refused.status, 503, 'the 26th session from one address');
    assert.equal(refused.body, '{"code":3,"message":"Too many sessions from this address"}');
    assert.equal(refused.headers['retry-after'], '1');
    // from another loopback address: up to the total
    for (let i = 0; i < 5; i++) {
      const r = await handshakeFrom(srv.port, '127.0.0.2');
      assert.equal(r.status, 200, 'another address still gets sessions');
    }
    const full = await handshakeFrom(srv.port, '127.0.0.3');
    assert.equal(full.status, 503, 'the 31st session in all');
    assert.equal(full.body, '{"code":3,"message":"Too many sessions"}');

    // 1 MB echoes queued in 20 sessions that never poll: 8 MB each (under the
    // per-session limit), 160 MB in all; the budget holds the server to 32 MiB
    const before = rssKiB(srv.child.pid);
    const body = '4' + 'x'.repeat(999990);
    let closed = 0;
    for (const sid of sids.slice(0, 20)) {
      for (let k = 0; k < 8; k++) {
        const r = await c.send('POST', pollQuery(sid), { body });
        if (r.status !== 200) { closed++; break; }
      }
    }
    await sleep(300);
    const grown = rssKiB(srv.child.pid) - before;
    assert.ok(grown < 96 * 1024, `server RSS grew ${grown} KiB for 160 MB of unread echoes`);
    assert.ok(closed > 0, 'sessions past the budget were closed as slow readers');
    // the sessions that were closed free their share: a new session fits again
    await sleep(100);
    const again = await c.send('GET', 'EIO=4&transport=polling');
    assert.ok(again.status === 200 || again.status === 503, `status ${again.status}`);
    c.close();
  } finally {
    assertClean(srv, await srv.stop());
  }
});

// Opens an Engine.IO WebSocket session; resolves with the ws, or null if the
// server refused the connection.
function openWs(port) {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/engine.io/?EIO=4&transport=websocket`);
    const timer = setTimeout(() => { ws.terminate(); resolve(null); }, 5000);
    ws.once('message', () => { clearTimeout(timer); resolve(ws); });
    ws.once('error', () => { clearTimeout(timer); resolve(null); });
    ws.once('close', () => { clearTimeout(timer); resolve(null); });
  });
}

test('max_connections counts upgraded (WebSocket) connections until they close (finding 6)', async () => {
  const srv = await startServer('sio-test-server', ['--max-connections', '5',
    '--ping-interval', '20000', '--ping-timeout', '20000']);
  try {
    const open = [];
    let refused = 0;
    for (let i = 0; i < 50; i++) {
      const ws = await openWs(srv.port);
      if (ws) open.push(ws); else refused++;
    }
    assert.equal(open.length, 5, `WebSocket sessions open with max_connections 5: ${open.length}`);
    assert.equal(refused, 45);
    // a closed one frees its place
    await new Promise((r) => { open[0].once('close', r); open[0].close(); });
    await sleep(50);
    const again = await openWs(srv.port);
    assert.ok(again, 'a place freed by a close is taken again');
    open[0] = again;
    for (const ws of open) ws.terminate();
  } finally {
    assertClean(srv, await srv.stop());
  }
});
