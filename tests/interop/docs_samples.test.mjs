// The documentation's code samples (docs/samples/*.c), run: each is started as
// the docs tell a reader to (from docs/samples, PORT in the environment) and
// driven with the real npm clients, so a sample that compiles but no longer
// does what its page says fails here.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { io } from 'socket.io-client';
import { Socket as EioSocket } from 'engine.io-client';
import WebSocket from 'ws';

const BUILD_DIR = process.env.SIO_BUILD_DIR || path.resolve('build/asan');
const SOURCE_DIR = process.env.SIO_SOURCE_DIR || path.resolve('.');
const running = [];
const clients = [];

async function start(name, args = []) {
  const child = spawn(path.join(BUILD_DIR, 'samples', name), args, {
    cwd: path.join(SOURCE_DIR, 'docs', 'samples'),
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${err}`)), 15000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (\d+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`${name} exited ${code}: ${err}`)); });
  });
  const srv = { child, port, url: `http://127.0.0.1:${port}`, exited, output: () => out, stderr: () => err };
  running.push(srv);
  return srv;
}

function client(url, opts = {}) {
  const s = io(url, { reconnection: false, ...opts });
  clients.push(s);
  return s;
}

function connected(s) {
  return new Promise((resolve, reject) => {
    if (s.connected) return resolve(s);
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  });
}

function next(emitter, event, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${event}`)), timeoutMs);
    emitter.once(event, (...args) => { clearTimeout(t); resolve(args); });
  });
}

after(async () => {
  for (const c of clients) c.close();
  for (const s of running) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
});

test('first_server: serves its page and the client, echoes msg_to_server', async () => {
  const srv = await start('first_server');
  const page = await fetch(`${srv.url}/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /\/socket\.io\/socket\.io\.js/);
  assert.equal((await fetch(`${srv.url}/socket.io/socket.io.js`)).status, 200);
  const s = await connected(client(`${srv.url}/chat`));
  const echo = next(s, 'msg_to_client');
  s.emit('msg_to_server', 'hello', { n: 1 });
  assert.deepEqual(await echo, ['hello', { n: 1 }]);
});

test('rooms: join, say to the room only, shout to all, who lists members', async () => {
  const srv = await start('rooms');
  const [a, b, c] = await Promise.all([1, 2, 3].map(() => connected(client(`${srv.url}/rooms`))));
  a.emit('join', 'red');
  await new Promise((r) => setTimeout(r, 100));
  const joined = next(a, 'joined');
  b.emit('join', 'red');
  c.emit('join', 'blue');
  assert.deepEqual(await joined, [b.id]);
  let cHeard = false;
  c.on('said', () => { cHeard = true; });
  const said = next(a, 'said');
  b.emit('say', 'red', 'hi');
  assert.deepEqual(await said, [b.id, 'hi']);
  const shout = Promise.all([next(a, 'shouted'), next(b, 'shouted'), next(c, 'shouted')]);
  a.emit('shout', 'all of you');
  assert.deepEqual((await shout).map((x) => x[0]), ['all of you', 'all of you', 'all of you']);
  const ids = await a.timeout(5000).emitWithAck('who', 'red');
  assert.deepEqual([...ids].sort(), [a.id, b.id].sort());
  assert.equal(cHeard, false);
});

test('acks: add, later, the server asking, and a poll of everyone', async () => {
  const srv = await start('acks');
  const a = client(`${srv.url}/acks`);
  a.on('ready?', (ack) => ack('yes'));
  const b = client(`${srv.url}/acks`);
  b.on('ready?', (ack) => ack('yes'));
  b.on('question', (q, ack) => ack(`b says yes to ${q}`));
  await Promise.all([connected(a), connected(b)]);
  assert.deepEqual(await a.timeout(5000).emitWithAck('add', 2, 3), 5);
  assert.deepEqual(await a.timeout(5000).emitWithAck('add', 2, 'x'), { error: 'add needs two numbers' });
  assert.equal(await a.timeout(5000).emitWithAck('later', 50), 'done');
  const answers = await a.timeout(5000).emitWithAck('poll', 'tea?');
  assert.deepEqual(answers, { answers: [['b says yes to tea?']], complete: true });
});

test('middleware: no token, an unknown one, a good one', async () => {
  const srv = await start('middleware');
  let s = client(`${srv.url}/private`);
  let err = (await next(s, 'connect_error'))[0];
  assert.equal(err.message, 'token required');
  assert.ok(err.data.hint);
  s = client(`${srv.url}/private`, { auth: { token: 'nope' } });
  err = (await next(s, 'connect_error'))[0];
  assert.equal(err.message, 'unknown token');
  s = client(`${srv.url}/private`, { auth: { token: 't0k3n-alice' } });
  assert.deepEqual(await next(s, 'welcome'), ['alice']);
});

test('events: raw forwarding, parsed arguments, binary both ways', async () => {
  const srv = await start('events');
  const s = await connected(client(srv.url));
  const fwd = next(s, 'forwarded');
  s.emit('forward', 1, 'two', { three: 3 });
  assert.deepEqual(await fwd, [1, 'two', { three: 3 }]);
  assert.equal(await s.timeout(5000).emitWithAck('sum', 1, 2, 'x', 3.5), 6.5);
  const [len, sum] = await new Promise((resolve) => s.emit('upload', Buffer.from([1, 2, 4]), (...a) => resolve(a)));
  assert.equal(len, 3);
  assert.deepEqual([...new Uint8Array(sum)], [7]);
});

test('namespaces: a static one, dynamic ones, catch-all events', async () => {
  const srv = await start('namespaces');
  const w = client(`${srv.url}/workspace-blue`);
  assert.deepEqual(await next(w, 'entered'), ['/workspace-blue']);
  const bad = client(`${srv.url}/workspace-BLUE`);
  assert.equal((await next(bad, 'connect_error'))[0].message, 'Invalid namespace');
  const admin = await connected(client(`${srv.url}/admin`));
  admin.emit('anything', 1);
  for (let i = 0; i < 50 && !/admin event anything: \[1\]/.test(srv.output()); i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.match(srv.output(), /admin event anything: \[1\]/);
});

test('sockets: a reminder later, kicking another socket, leaving by the server', async () => {
  const srv = await start('sockets');
  const a = await connected(client(srv.url));
  const b = await connected(client(srv.url));
  const reminder = next(a, 'reminder');
  a.emit('remind', 30);
  await reminder;
  const gone = next(b, 'disconnect');
  assert.equal(await a.timeout(5000).emitWithAck('kick', b.id), true);
  assert.equal((await gone)[0], 'io server disconnect');
  const bye = next(a, 'disconnect');
  a.emit('bye');
  assert.equal((await bye)[0], 'io server disconnect');
});

test('http_routes: JSON, POST echo, streaming, counters, static files', async () => {
  const srv = await start('http_routes');
  let r = await fetch(`${srv.url}/api/hello?name=C%20fan`);
  assert.deepEqual(await r.json(), { hello: 'C fan' });
  r = await fetch(`${srv.url}/api/echo`, { method: 'POST', body: 'ping', headers: { 'content-type': 'text/plain' } });
  assert.equal(await r.text(), 'ping');
  r = await fetch(`${srv.url}/api/echo`, { method: 'POST', body: 'x'.repeat(5000) });
  assert.equal(r.status, 413);
  r = await fetch(`${srv.url}/api/count`);
  assert.equal((await r.text()).split('\n').filter(Boolean).length, 10);
  r = await fetch(`${srv.url}/api/stats`);
  assert.ok((await r.json()).requests >= 4);
  r = await fetch(`${srv.url}/`);
  assert.equal(r.headers.get('cache-control'), 'public, max-age=60');
});

test('ws_echo: a WebSocket echo', async () => {
  const srv = await start('ws_echo');
  const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/echo`);
  await next(ws, 'open');
  const msg = next(ws, 'message');
  ws.send('hello');
  const [data, isBinary] = await msg;
  assert.equal(isBinary, false);
  assert.equal(data.toString(), 'hello');
  ws.close();
  assert.equal((await fetch(`${srv.url}/echo`)).status, 400);
});

test('eio_echo: Engine.IO echo and a message to every session', async () => {
  const srv = await start('eio_echo');
  const open = (s) => new Promise((resolve) => s.once('open', resolve));
  const a = new EioSocket(srv.url);
  const b = new EioSocket(srv.url);
  await Promise.all([open(a), open(b)]);
  const echo = next(a, 'message');
  a.send('hi');
  assert.deepEqual(await echo, ['hi']);
  const both = Promise.all([next(a, 'message'), next(b, 'message')]);
  a.send('all:everyone');
  assert.deepEqual((await both).map((x) => x[0]), ['everyone', 'everyone']);
  a.close();
  b.close();
});

test('logging: a bad level is refused; the sink writes timestamped lines', async () => {
  const bad = spawn(path.join(BUILD_DIR, 'samples', 'logging'), ['loud']);
  assert.equal((await new Promise((r) => bad.on('exit', r))), 2);
  const srv = await start('logging', ['debug']);
  const s = await connected(client(srv.url));
  s.close();
  for (let i = 0; i < 50 && !/\[socket\.io\]/.test(srv.stderr()); i++) await new Promise((r) => setTimeout(r, 20));
  assert.match(srv.stderr(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d debug \[socket\.io\] /m);
});

test('shutdown: SIGTERM closes connected clients and exits 0 with nothing left open', async () => {
  const srv = await start('shutdown');
  const s = await connected(client(srv.url, { extraHeaders: {} }));
  const gone = next(s, 'disconnect');
  srv.child.kill('SIGTERM');
  await gone;
  assert.deepEqual(await srv.exited, { code: 0, signal: null }, srv.stderr());
});
