// 10,000 Engine.IO sessions through every way a session can end, then a
// clean exit: under ASan (LeakSanitizer) any session, queue, request or
// connection not freed makes the server's exit code non-zero.
//
//   2,000  client close packet "1" (polling; websocket; polling upgraded to websocket)
//   2,000  transport close (websocket dropped, websocket closed, waiting GET dropped)
//   2,000  ping timeout (polling and websocket peers that never answer "2")
//   2,000  a second concurrent GET (400 for one, a close packet for the other)
//   2,000  server shutdown (waiting GETs, idle polling, websockets, upgrades half done)
//
// Sessions run in bounded batches. The server's RSS is printed before and
// after the first 8,000 (not a benchmark: only a generous bound is asserted).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { sleep } from './lib/rawhttp.mjs';
import { HttpConn, WsPeer, parseOpen, pollQuery, rssKiB } from './lib/eio.mjs';

const PER_PATH = 2000;
const CONCURRENCY = 50;
// long enough that no other path meets a ping on a loaded machine (make test runs in parallel)
const PING_INTERVAL = 4000;
const PING_TIMEOUT = 2000;
const ERR_UNKNOWN_SID = '{"code":1,"message":"Session ID unknown"}';
const ERR_BAD_REQUEST = '{"code":3,"message":"Bad request"}';

// Runs flow(conn, i) for i in [0, total) on `concurrency` workers, each with
// its own keep-alive connection for the short requests.
async function batches(port, total, concurrency, flow) {
  let next = 0;
  const worker = async () => {
    let c = await HttpConn.open(port);
    while (next < total) {
      const i = next++;
      if (c.closed) c = await HttpConn.open(port);
      await flow(c, i);
    }
    c.close();
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

async function pollHandshake(c) {
  const res = await c.send('GET', 'EIO=4&transport=polling');
  if (!res) throw new Error(`handshake: no response, connection ${c.lastClose}`);
  return parseOpen(res).sid;
}

async function wsSession(port) {
  const ws = await WsPeer.open(port, 'EIO=4&transport=websocket');
  const open = await ws.next();
  assert.equal(open[0], '0');
  return { ws, sid: JSON.parse(open.slice(1)).sid };
}

test('10,000 sessions through every close path, then a leak-free exit', { timeout: 280000 }, async () => {
  // ASan keeps freed memory in a quarantine (256 MiB by default) that would
  // swamp the RSS figure; a small one keeps it meaningful (no effect without ASan)
  const asan = process.env.ASAN_OPTIONS ? `${process.env.ASAN_OPTIONS}:` : '';
  const srv = await startServer('sio-test-server', [
    '--ping-interval', String(PING_INTERVAL), '--ping-timeout', String(PING_TIMEOUT),
  ], { env: { ASAN_OPTIONS: `${asan}quarantine_size_mb=4` } });
  const port = srv.port;
  const closedSids = [];
  try {
    // warm up (allocator pools, the session map's first growth), then measure
    await batches(port, 200, 20, async (c) => {
      const sid = await pollHandshake(c);
      assert.equal((await c.send('POST', pollQuery(sid), { body: '1' })).body, 'ok');
    });
    const rssBefore = rssKiB(srv.child.pid);
    const t0 = Date.now();

    // 1. the client's close packet
    await batches(port, PER_PATH, CONCURRENCY, async (c, i) => {
      if (i % 3 === 0) {
        const sid = await pollHandshake(c);
        assert.equal((await c.send('POST', pollQuery(sid), { body: `4bye${'\x1e'}1` })).body, 'ok');
        closedSids.push(sid);
      } else if (i % 3 === 1) {
        const { ws, sid } = await wsSession(port);
        ws.send('1');
        await ws.waitClose();
        closedSids.push(sid);
      } else {
        const sid = await pollHandshake(c);
        const ws = await WsPeer.open(port, `EIO=4&transport=websocket&sid=${sid}`);
        ws.send('2probe');
        assert.equal(await ws.next(), '3probe');
        ws.send('5');
        ws.send('4upgraded');
        assert.equal(await ws.nextData(), '4upgraded');
        ws.send('1');
        await ws.waitClose();
        closedSids.push(sid);
      }
    });

    // 2. transport close
    await batches(port, PER_PATH, CONCURRENCY, async (c, i) => {
      if (i % 4 < 2) {
        const { ws, sid } = await wsSession(port);
        ws.send('4x');
        await ws.nextData();
        if (i % 4 === 0) ws.terminate(); // dropped: no close frame
        else ws.close(); // a close frame from the client
        await ws.waitClose();
        closedSids.push(sid);
      } else {
        const sid = await pollHandshake(c);
        const g = await HttpConn.open(port);
        const pending = g.send('GET', pollQuery(sid)).catch(() => null);
        await sleep(20);
        g.close(); // the waiting GET's connection goes away
        await pending;
        closedSids.push(sid);
      }
    });

    // 3. ping timeout: peers that never answer; they end PING_INTERVAL + PING_TIMEOUT later
    const silent = [];
    await batches(port, PER_PATH, CONCURRENCY, async (c, i) => {
      if (i % 2 === 0) {
        closedSids.push(await pollHandshake(c));
      } else {
        const { ws, sid } = await wsSession(port);
        silent.push(ws);
        closedSids.push(sid);
      }
    });

    // 4. a second concurrent GET: one gets 400, the other a close packet
    await batches(port, PER_PATH, CONCURRENCY, async (c) => {
      const sid = await pollHandshake(c);
      const g = await HttpConn.open(port);
      const first = g.send('GET', pollQuery(sid));
      await sleep(10);
      const second = await c.send('GET', pollQuery(sid));
      const bodies = [(await first).body, second.body].sort();
      assert.deepEqual(bodies, ['1', ERR_BAD_REQUEST].sort());
      g.close();
      closedSids.push(sid);
    });

    // the silent websockets are closed by the server once their ping times out
    for (const ws of silent) await ws.waitClose(PING_INTERVAL + PING_TIMEOUT + 10000);
    const elapsed = Date.now() - t0;

    // every one of those 8,000 sessions is gone (the last idle polling ones may need a moment)
    assert.equal(closedSids.length, 4 * PER_PATH);
    assert.equal(new Set(closedSids).size, closedSids.length, 'session ids never repeat');
    await batches(port, closedSids.length, CONCURRENCY, async (c, i) => {
      let r;
      for (let tries = 0; tries < 100; tries++) {
        r = await c.send('POST', pollQuery(closedSids[i]), { body: '6' }); // a noop: no effect on a live session
        if (r.body !== 'ok') break;
        await sleep(100);
      }
      assert.equal(r.body, ERR_UNKNOWN_SID, `session ${i} is gone`);
    });

    const rssAfter = rssKiB(srv.child.pid);
    const growth = (rssAfter - rssBefore) / 1024;
    console.log(`# server RSS: ${(rssBefore / 1024).toFixed(1)} MiB before, ${(rssAfter / 1024).toFixed(1)} MiB ` +
      `after 8,000 sessions (${growth >= 0 ? '+' : ''}${growth.toFixed(1)} MiB), in ${elapsed} ms`);
    assert.ok(growth < 50, `RSS grew by ${growth.toFixed(1)} MiB`);

    // 5. server shutdown with 2,000 sessions open in every state
    const waiting = [];
    const sockets = [];
    const conns = [];
    await batches(port, PER_PATH, CONCURRENCY, async (c, i) => {
      const kind = i % 4;
      if (kind === 0) {
        const sid = await pollHandshake(c);
        const g = await HttpConn.open(port);
        conns.push(g);
        waiting.push(g.send('GET', pollQuery(sid), { timeoutMs: 60000 }));
      } else if (kind === 1) {
        await pollHandshake(c); // idle polling session
      } else if (kind === 2) {
        sockets.push((await wsSession(port)).ws);
      } else {
        const sid = await pollHandshake(c);
        const ws = await WsPeer.open(port, `EIO=4&transport=websocket&sid=${sid}`);
        ws.send('2probe');
        assert.equal(await ws.next(), '3probe');
        sockets.push(ws); // the upgrade never completes
      }
    });
    const r = await srv.stop();
    assert.equal(r.code, 0, 'clean, leak-free exit after 10,000 sessions');
    const released = await Promise.all(waiting);
    for (const res of released) {
      // a close packet, or a ping if the heartbeat came first (or the connection closed)
      assert.ok(res === null || res.body === '1' || res.body === '2', `a waiting GET got ${res && res.body}`);
    }
    assert.ok(released.filter((x) => x && x.body === '1').length > 0, 'waiting GETs got close packets');
    for (const ws of sockets) await ws.waitClose();
    conns.forEach((g) => g.close());
  } finally {
    await srv.stop();
  }
});
