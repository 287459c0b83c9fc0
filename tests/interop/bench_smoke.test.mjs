// sio-bench smoke test: every scenario for about a second at small sizes
// against the sanitizer build of sio-test-server (and ws-echo-server for the
// raw WebSocket mode), checking that the JSON line of each run is sane. It
// exercises the load tool in `make test`; the real runs are bench/run.sh.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startServer, BIN_DIR } from './lib/server.mjs';

const run = promisify(execFile);
let sio;
let raw;

before(async () => {
  sio = await startServer('sio-test-server', ['--ping-interval', '25000', '--ping-timeout', '20000',
    '--connect-timeout', '45000']);
  raw = await startServer('ws-echo-server', ['--broadcast']);
});

after(async () => {
  assert.equal((await sio.stop()).code, 0, 'sio-test-server exits cleanly');
  assert.equal((await raw.stop()).code, 0, 'ws-echo-server exits cleanly');
});

async function bench(args, srv) {
  const { stdout } = await run(path.join(BIN_DIR, 'sio-bench'),
    [...args, '--port', String(srv.port), '--server-pid', String(srv.child.pid), '--quiet', '--sources', '2'],
    { timeout: 30000 });
  const lines = stdout.trim().split('\n');
  assert.equal(lines.length, 1, 'one JSON line');
  const r = JSON.parse(lines[0]);
  assert.equal(r.tool, 'sio-bench');
  assert.equal(r.ok, true, `run ok (${r.error})`);
  assert.equal(r.errors, 0, `no errors (${r.error})`);
  assert.ok(r.duration_s > 0);
  assert.ok(r.tool_cpu > 0 && r.tool_cpu < 64);
  assert.ok(r.server_core_busy >= 0 && r.server_core_busy <= 1);
  return r;
}

function latencySane(r) {
  assert.ok(r.lat_us.p50 > 0, 'p50 > 0');
  assert.ok(r.lat_us.p50 <= r.lat_us.p99 && r.lat_us.p99 <= r.lat_us.p999 && r.lat_us.p999 <= r.lat_us.max,
    'percentiles in order');
}

test('connect: websocket and polling', async () => {
  let r = await bench(['connect', '-n', '200', '-c', '20'], sio);
  assert.equal(r.connected, 200);
  assert.equal(r.ops, 200);
  assert.ok(r.ops_per_s > 0);
  latencySane(r);
  r = await bench(['connect', '--polling', '-n', '50', '-c', '10'], sio);
  assert.equal(r.transport, 'polling');
  assert.equal(r.ops, 50);
  latencySane(r);
  r = await bench(['connect', '--raw', '-n', '200', '-c', '20'], raw);
  assert.equal(r.mode, 'raw');
  assert.equal(r.ops, 200);
});

test('echo: as fast as possible, rate-limited, raw', async () => {
  let r = await bench(['echo', '-n', '10', '-w', '4', '-d', '1', '--warmup', '0.2'], sio);
  assert.equal(r.connected, 10);
  assert.ok(r.ops > 0 && r.ops_per_s > 0);
  assert.ok(r.sent >= r.ops);
  latencySane(r);
  r = await bench(['echo', '-n', '10', '-w', '4', '-d', '1', '--warmup', '0.2', '--rate', '500'], sio);
  assert.ok(r.ops_per_s > 250 && r.ops_per_s < 750, `paced near 500/s: ${r.ops_per_s}`);
  r = await bench(['echo', '--raw', '-n', '10', '-w', '4', '-d', '1', '--warmup', '0.2'], raw);
  assert.ok(r.ops > 0);
  latencySane(r);
});

test('broadcast: Socket.IO and raw', async () => {
  let r = await bench(['broadcast', '-n', '50', '-s', '2', '-w', '2', '-d', '1', '--warmup', '0.2'], sio);
  assert.equal(r.connected, 50);
  assert.ok(r.sent > 0 && r.ops > 0);
  assert.equal(r.lost, 0);
  latencySane(r);
  r = await bench(['broadcast', '--raw', '-n', '50', '-s', '2', '-w', '2', '-d', '1', '--warmup', '0.2'], raw);
  assert.ok(r.ops > 0);
  assert.equal(r.lost, 0);
});

test('idle and churn: server memory from /proc', async () => {
  let r = await bench(['idle', '-n', '200', '-d', '0.5'], sio);
  assert.equal(r.held, 200);
  assert.ok(r.server_rss_before > 0 && r.server_rss_after > 0);
  r = await bench(['churn', '-c', '5', '-d', '1', '--warmup', '0.2'], sio);
  assert.ok(r.ops > 0, 'cycles');
  assert.ok(r.server_rss_before > 0 && r.server_rss_after > 0);
  latencySane(r);
});
