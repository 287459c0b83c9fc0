// What one HTTP/1.1 connection may make the server hold: a client that
// pipelines requests and never reads its answers, or that keeps sending while
// a request of its is held by a handler. The server must stop reading such a
// client (its unsent output and its unparsed input are both bounded) instead
// of growing by the size of every answer; once the client reads, every answer
// arrives whole and in order. Memory is read from /proc/<pid>/status (VmRSS)
// of the server process the test started.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, SOURCE_DIR } from './lib/server.mjs';
import { connect, ResponseReader, sleep } from './lib/rawhttp.mjs';

const MB = 1024 * 1024;

function rss(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]) * 1024;
}

// Reads responses off a socket without keeping them: each body is checked
// against the expected bytes as it streams by (the answers total hundreds of
// megabytes, so nothing is concatenated).
class StreamChecker {
  constructor(socket, expected) {
    this.expected = expected; // [{ status, body: Buffer|null }] in request order
    this.index = 0;
    this.head = Buffer.alloc(0);
    this.body = null; // { want: Buffer, off }
    this.errors = [];
    this.done = new Promise((resolve) => { this.resolve = resolve; });
    socket.on('data', (d) => this.#feed(d));
    socket.on('close', () => this.resolve());
  }
  #feed(d) {
    while (d.length) {
      if (this.body) {
        const { want, off } = this.body;
        const n = Math.min(d.length, want.length - off);
        if (!d.subarray(0, n).equals(want.subarray(off, off + n)) && this.errors.length < 5)
          this.errors.push(`answer ${this.index}: body differs near byte ${off}`);
        this.body.off += n;
        d = d.subarray(n);
        if (this.body.off === want.length) this.#next();
        continue;
      }
      this.head = Buffer.concat([this.head, d]);
      d = Buffer.alloc(0);
      const end = this.head.indexOf('\r\n\r\n');
      if (end < 0) return;
      const lines = this.head.subarray(0, end).toString('latin1').split('\r\n');
      const rest = this.head.subarray(end + 4);
      this.head = Buffer.alloc(0);
      const status = Number(lines[0].split(' ')[1]);
      const len = Number((lines.find((l) => /^content-length:/i.test(l)) || ':0').split(':')[1]);
      const exp = this.expected[this.index];
      if (!exp) {
        this.errors.push(`an answer past the ${this.expected.length} asked for`);
        return;
      }
      if (status !== exp.status && this.errors.length < 5)
        this.errors.push(`answer ${this.index}: status ${status}, expected ${exp.status}`);
      const want = exp.status === 200 ? exp.body : Buffer.alloc(0);
      if (len !== want.length && this.errors.length < 5)
        this.errors.push(`answer ${this.index}: length ${len}, expected ${want.length}`);
      if (want.length) this.body = { want, off: 0 };
      else this.#next();
      d = rest;
    }
  }
  #next() {
    this.body = null;
    this.index++;
    if (this.index === this.expected.length) this.resolve();
  }
}

test('pipelined GETs of the client bundle with no reading: memory stays bounded, all answers arrive in order', async () => {
  const srv = await startServer('sio-test-server');
  try {
    const dist = path.join(SOURCE_DIR, 'node_modules/socket.io-client/dist');
    const files = ['socket.io.js.map', 'socket.io.min.js.map', 'socket.io.js', 'socket.io.esm.min.js.map']
      .map((name) => ({ name, body: fs.readFileSync(path.join(dist, name)) }));
    // warm up (the first answer of each file, the allocator's arenas) and learn one ETag
    const warm = await fetch(`${srv.url}/socket.io/socket.io.js.map`);
    const etag = warm.headers.get('etag');
    await warm.arrayBuffer();
    const base = rss(srv.child.pid);

    const N = 2000;
    const expected = [];
    let raw = '';
    for (let i = 0; i < N; i++) {
      if (i % 100 === 99) {
        // a revalidation now and then: a 304 with no body, in its place in the order
        raw += `GET /socket.io/socket.io.js.map HTTP/1.1\r\nHost: x\r\nIf-None-Match: ${etag}\r\n\r\n`;
        expected.push({ status: 304, body: null });
      } else {
        const f = files[i % files.length];
        raw += `GET /socket.io/${f.name} HTTP/1.1\r\nHost: x\r\n\r\n`;
        expected.push({ status: 200, body: f.body });
      }
    }
    const s = await connect(srv.port);
    s.pause(); // read nothing
    s.write(raw);
    // the server answers until its bound, then stops reading: give it time to do all it would
    let peak = 0;
    for (let i = 0; i < 15; i++) {
      await sleep(100);
      peak = Math.max(peak, rss(srv.child.pid));
    }
    const grown = peak - base;
    assert.ok(grown < 64 * MB,
      `server grew by ${(grown / MB).toFixed(1)} MB for ${(raw.length / 1024).toFixed(0)} KB of pipelined GETs`);

    // other clients are served meanwhile
    const other = await fetch(`${srv.url}/socket.io/socket.io.min.js`);
    assert.equal(other.status, 200);
    assert.equal((await other.arrayBuffer()).byteLength, fs.statSync(path.join(dist, 'socket.io.min.js')).size);

    const checker = new StreamChecker(s, expected);
    s.resume();
    const timer = setTimeout(() => checker.resolve(), 60000);
    await checker.done;
    clearTimeout(timer);
    assert.deepEqual(checker.errors, []);
    assert.equal(checker.index, N, `${checker.index} of ${N} answers arrived`);
    s.destroy();
  } finally {
    assert.equal((await srv.stop()).code, 0);
  }
});

function pattern(n) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = 97 + (i % 26);
  return b;
}

test('pipelined GETs of answers built per request, with no reading: parsing pauses at the output bound', async () => {
  const srv = await startServer('http-test-server', ['--max-output', String(256 * 1024)]);
  try {
    const base = rss(srv.child.pid);
    const N = 2000;
    const body = pattern(100000);
    const s = await connect(srv.port);
    s.pause();
    s.write(`GET /bytes?n=100000 HTTP/1.1\r\nHost: x\r\n\r\n`.repeat(N));
    let peak = 0;
    for (let i = 0; i < 15; i++) {
      await sleep(100);
      peak = Math.max(peak, rss(srv.child.pid));
    }
    const grown = peak - base;
    assert.ok(grown < 48 * MB, `server grew by ${(grown / MB).toFixed(1)} MB (answers total ${N * 100000 / MB} MB)`);
    const checker = new StreamChecker(s, Array.from({ length: N }, () => ({ status: 200, body })));
    s.resume();
    const timer = setTimeout(() => checker.resolve(), 60000);
    await checker.done;
    clearTimeout(timer);
    assert.deepEqual(checker.errors, []);
    assert.equal(checker.index, N, `${checker.index} of ${N} answers arrived`);
    s.destroy();
  } finally {
    assert.equal((await srv.stop()).code, 0);
  }
});

test('the client bundle is shared by its answers, not copied per answer', async () => {
  const srv = await startServer('sio-test-server');
  try {
    const dist = path.join(SOURCE_DIR, 'node_modules/socket.io-client/dist');
    const map = fs.readFileSync(path.join(dist, 'socket.io.js.map'));
    const warm = await fetch(`${srv.url}/socket.io/socket.io.js.map`);
    await warm.arrayBuffer();
    const base = rss(srv.child.pid);
    // many clients each ask once and read nothing: only the heads are theirs
    const N = 300;
    const socks = [];
    for (let i = 0; i < N; i++) {
      const s = await connect(srv.port);
      s.pause();
      s.write('GET /socket.io/socket.io.js.map HTTP/1.1\r\nHost: x\r\n\r\n');
      socks.push(s);
    }
    let peak = 0;
    for (let i = 0; i < 10; i++) {
      await sleep(100);
      peak = Math.max(peak, rss(srv.child.pid));
    }
    const grown = peak - base;
    assert.ok(grown < 24 * MB,
      `server grew by ${(grown / MB).toFixed(1)} MB for ${N} unread answers of ${map.length} bytes`);
    // every answer is whole
    const checkers = socks.map((s) => new StreamChecker(s, [{ status: 200, body: map }]));
    socks.forEach((s) => s.resume());
    await Promise.all(checkers.map((c) => c.done));
    checkers.forEach((c) => assert.deepEqual(c.errors, []));
    assert.equal(checkers.filter((c) => c.index === 1).length, N);
    socks.forEach((s) => s.destroy());
  } finally {
    assert.equal((await srv.stop()).code, 0);
  }
});

test('input behind a held request is not buffered without bound', async () => {
  const srv = await startServer('http-test-server');
  try {
    const base = rss(srv.child.pid);
    const s = await connect(srv.port);
    const rd = new ResponseReader(s);
    s.write('GET /hold?ms=3000 HTTP/1.1\r\nHost: x\r\n\r\n');
    // 96 MB of input the server can only parse once the held request is answered
    const junk = Buffer.alloc(MB, 'x');
    let all = false;
    for (let i = 0; i < 96; i++) s.write(junk, i === 95 ? () => { all = true; } : undefined);
    let peak = 0;
    for (let i = 0; i < 20 && !all; i++) {
      await sleep(100);
      peak = Math.max(peak, rss(srv.child.pid));
    }
    await sleep(200);
    peak = Math.max(peak, rss(srv.child.pid));
    assert.ok(peak - base < 32 * MB, `server grew by ${((peak - base) / MB).toFixed(1)} MB`);
    assert.equal(all, false, 'the server stopped reading the client');
    // other connections are served meanwhile
    const r = await fetch(`${srv.url}/query?a=1`);
    assert.equal(await r.text(), 'a=[1] b=[(none)]');
    // the held request is answered, then the junk is a bad request
    const held = await rd.next();
    assert.equal(held.body, 'held 3000');
    const bad = await rd.next();
    assert.equal(bad.status, 400);
    s.destroy();
  } finally {
    assert.equal((await srv.stop()).code, 0);
  }
});
