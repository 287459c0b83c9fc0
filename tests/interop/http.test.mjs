// The HTTP/1.1 layer against real clients: raw sockets (byte-exact), Node's
// fetch and curl. The server is build/.../http-test-server (tests/helpers).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startServer } from './lib/server.mjs';
import { connect, ResponseReader, request, sleep } from './lib/rawhttp.mjs';

const run = promisify(execFile);
let root;
let srv;

before(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'sio-http-'));
  fs.writeFileSync(path.join(root, 'index.html'), '<!doctype html><h1>index</h1>\n');
  fs.mkdirSync(path.join(root, 'sub'));
  fs.writeFileSync(path.join(root, 'sub', 'style.css'), 'body { color: red }\n');
  fs.writeFileSync(path.join(root, 'sub', 'index.html'), 'sub index\n');
  fs.writeFileSync(path.join(root, 'app.js'), 'console.log(1)\n');
  fs.writeFileSync(path.join(root, 'big.bin'), Buffer.alloc(300000, 7));
  fs.writeFileSync(path.join(root, '.secret'), 'dotfile\n');
  fs.writeFileSync(path.join(os.tmpdir(), 'sio-outside.txt'), 'outside\n');
  fs.symlinkSync(path.join(os.tmpdir(), 'sio-outside.txt'), path.join(root, 'escape.txt'));
  fs.symlinkSync('/etc', path.join(root, 'etcdir'));
  fs.symlinkSync('sub/style.css', path.join(root, 'inside-link.css'));
  srv = await startServer('http-test-server', ['--root', root]);
});

after(async () => {
  const r = await srv.stop();
  fs.rmSync(root, { recursive: true, force: true });
  assert.equal(r.code, 0, 'server exits cleanly (and leak-free under ASan) on SIGTERM');
});

test('static files: content, MIME types, index.html, HEAD', async () => {
  let r = await fetch(`${srv.url}/`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.equal(await r.text(), '<!doctype html><h1>index</h1>\n');
  r = await fetch(`${srv.url}/sub/style.css`);
  assert.equal(r.headers.get('content-type'), 'text/css; charset=utf-8');
  assert.equal(await r.text(), 'body { color: red }\n');
  r = await fetch(`${srv.url}/app.js`);
  assert.match(r.headers.get('content-type'), /javascript/);
  r = await fetch(`${srv.url}/sub/`);
  assert.equal(await r.text(), 'sub index\n');
  r = await fetch(`${srv.url}/sub`, { redirect: 'manual' });
  assert.equal(r.status, 301);
  assert.equal(r.headers.get('location'), '/sub/');
  r = await fetch(`${srv.url}/inside-link.css`);
  assert.equal(r.status, 200, 'a symlink that stays inside the root is served');
  r = await fetch(`${srv.url}/big.bin`);
  const body = Buffer.from(await r.arrayBuffer());
  assert.equal(body.length, 300000);
  assert.ok(body.every((b) => b === 7));
  r = await fetch(`${srv.url}/sub/style.css`, { method: 'HEAD' });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-length'), '20');
  assert.equal(await r.text(), '');
});

test('static files: ETag and Last-Modified give 304', async () => {
  const r = await fetch(`${srv.url}/sub/style.css`);
  const etag = r.headers.get('etag');
  const lm = r.headers.get('last-modified');
  assert.ok(etag && lm);
  assert.equal(r.headers.get('cache-control'), 'public, max-age=0');
  let r2 = await fetch(`${srv.url}/sub/style.css`, { headers: { 'if-none-match': etag } });
  assert.equal(r2.status, 304);
  assert.equal(await r2.text(), '');
  r2 = await fetch(`${srv.url}/sub/style.css`, { headers: { 'if-none-match': `"x", W/${etag}` } });
  assert.equal(r2.status, 304, 'weak comparison in a list');
  r2 = await fetch(`${srv.url}/sub/style.css`, { headers: { 'if-none-match': '"other"' } });
  assert.equal(r2.status, 200);
  r2 = await fetch(`${srv.url}/sub/style.css`, { headers: { 'if-modified-since': lm } });
  assert.equal(r2.status, 304);
  r2 = await fetch(`${srv.url}/sub/style.css`, {
    headers: { 'if-modified-since': 'Thu, 01 Jan 1970 00:00:00 GMT' },
  });
  assert.equal(r2.status, 200);
});

test('static files: every traversal trick is a 404 and never a file outside the root', async () => {
  const tricks = [
    '/../../../../etc/passwd',
    '/..%2f..%2f..%2fetc%2fpasswd',
    '/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
    '/%2E%2E/%2E%2E/etc/passwd',
    '/sub/../../etc/passwd',
    '/sub/%2e%2e/%2e%2e/etc/passwd',
    '/..%5c..%5c..%5cetc%5cpasswd',
    '/..\\..\\..\\etc\\passwd',
    '/index.html%00.css',
    '/%00',
    '/escape.txt',
    '/etcdir/passwd',
    '/.secret',
    '/sub/%2e%2e%2f%2e%2e%2fetc/passwd',
    '/%252e%252e/etc/passwd',
    '/%',
    '/%zz',
  ];
  for (const t of tricks) {
    const res = await request(srv.port, `GET ${t} HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.ok(res, `response for ${t}`);
    assert.ok(res.status === 404 || res.status === 400, `${t} -> ${res.status}`);
    assert.ok(!res.body.includes('root:'), `${t} leaked /etc/passwd`);
    assert.ok(!res.body.includes('outside'), `${t} leaked a file outside the root`);
  }
  // the same through curl, which sends the path as given with --path-as-is
  const { stdout } = await run('curl', ['-s', '--path-as-is', '-o', '/dev/null', '-w', '%{http_code}',
    `${srv.url}/../../etc/passwd`]);
  assert.equal(stdout, '404');
});

test('keep-alive: several requests on one connection (raw and curl)', async () => {
  const s = await connect(srv.port);
  const rd = new ResponseReader(s);
  for (let i = 0; i < 5; i++) {
    s.write(`GET /query?a=${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
    const r = await rd.next();
    assert.equal(r.status, 200);
    assert.equal(r.headers.connection, 'keep-alive');
    assert.equal(r.body, `a=[${i}] b=[(none)]`);
  }
  s.write('GET /query?a=last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  const r = await rd.next();
  assert.equal(r.headers.connection, 'close');
  await rd.waitClose();

  const { stderr } = await run('curl', ['-sv', `${srv.url}/query?a=1`, `${srv.url}/query?a=2`]);
  assert.match(stderr, /Re-using existing connection|Reusing existing connection/);
});

test('HTTP/1.0 closes unless keep-alive is asked for', async () => {
  let s = await connect(srv.port);
  let rd = new ResponseReader(s);
  s.write('GET /query?a=1 HTTP/1.0\r\n\r\n');
  let r = await rd.next();
  assert.equal(r.headers.connection, 'close');
  await rd.waitClose();
  s = await connect(srv.port);
  rd = new ResponseReader(s);
  s.write('GET /query?a=1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
  r = await rd.next();
  assert.equal(r.headers.connection, 'keep-alive');
  s.destroy();
});

test('pipelining: responses come back in request order, even from async handlers', async () => {
  const s = await connect(srv.port);
  const rd = new ResponseReader(s);
  s.write(
    'GET /hold?ms=200 HTTP/1.1\r\nHost: x\r\n\r\n' +
      'GET /hold?ms=10 HTTP/1.1\r\nHost: x\r\n\r\n' +
      'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello' +
      'GET /query?a=%E2%9C%93&b=x+y HTTP/1.1\r\nHost: x\r\n\r\n',
  );
  const bodies = [];
  for (let i = 0; i < 4; i++) bodies.push((await rd.next()).body);
  assert.deepEqual(bodies, ['held 200', 'held 10', 'hello', 'a=[✓] b=[x y]']);
  s.destroy();
});

test('request bodies: Content-Length, chunked, 100-continue', async () => {
  let r = await fetch(`${srv.url}/echo`, { method: 'POST', body: 'abc', headers: { 'content-type': 'text/x' } });
  assert.equal(await r.text(), 'abc');
  assert.equal(r.headers.get('content-type'), 'text/x');
  r = await request(srv.port,
    'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n');
  assert.equal(r.body, 'abcdefg');
  const s = await connect(srv.port);
  const rd = new ResponseReader(s);
  s.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n');
  const cont = await rd.next();
  assert.equal(cont.status, 100);
  s.write('ping');
  const fin = await rd.next();
  assert.equal(fin.status, 200);
  assert.equal(fin.body, 'ping');
  s.destroy();
  // curl sends Expect: 100-continue for bodies over 1 MiB only, so force it
  const { stdout } = await run('curl', ['-s', '-H', 'Expect: 100-continue', '--data-binary', 'xyz', `${srv.url}/echo`]);
  assert.equal(stdout, 'xyz');
});

test('status codes: 404, 405 with Allow, 413, 431, 400, 417', async () => {
  let r = await fetch(`${srv.url}/nope/nothing`);
  assert.equal(r.status, 404);
  r = await fetch(`${srv.url}/echo`, { method: 'DELETE' });
  assert.equal(r.status, 405);
  assert.equal(r.headers.get('allow'), 'POST');
  r = await fetch(`${srv.url}/index.html`, { method: 'POST', body: 'x' });
  assert.equal(r.status, 405);
  assert.equal(r.headers.get('allow'), 'GET, HEAD');

  // 413 on a declared length over the route's limit, before the body is sent
  let res = await request(srv.port, 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n');
  assert.equal(res.status, 413);
  // 413 while the body is still arriving: the answer must survive (no reset from unread input)
  for (let i = 0; i < 5; i++) {
    const big = await connect(srv.port);
    const brd = new ResponseReader(big);
    big.write(`POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n`);
    big.write(Buffer.alloc(200000, 97));
    const r413 = await brd.next();
    assert.equal(r413.status, 413);
    await brd.waitClose();
  }
  // 413 on a chunked body that grows over the limit
  const s = await connect(srv.port);
  const rd = new ResponseReader(s);
  s.write('POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
  for (let i = 0; i < 5 && !rd.closed; i++) {
    s.write(`200\r\n${'a'.repeat(512)}\r\n`);
    await sleep(5);
  }
  res = await rd.next();
  assert.equal(res.status, 413);
  await rd.waitClose();

  res = await request(srv.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20000)}\r\n\r\n`);
  assert.equal(res.status, 431);
  res = await request(srv.port, `GET /${'u'.repeat(20000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
  assert.equal(res.status, 431);
  let many = 'GET / HTTP/1.1\r\n';
  for (let i = 0; i < 150; i++) many += `X-H${i}: v\r\n`;
  res = await request(srv.port, `${many}\r\n`);
  assert.equal(res.status, 431);
  res = await request(srv.port, 'GET / HTTP/9.9\r\n\r\n');
  assert.equal(res.status, 505);
  for (const bad of ['GARBAGE\r\n\r\n', 'GET / HTTP/1.1\r\nBad Header\r\n\r\n',
    'GET noslash HTTP/1.1\r\n\r\n', 'POST /echo HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab']) {
    res = await request(srv.port, bad);
    assert.equal(res.status, 400, JSON.stringify(bad));
    assert.equal(res.headers.connection, 'close');
  }
  res = await request(srv.port, 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nExpect: magic\r\n\r\nx');
  assert.equal(res.status, 417);
});

test('headers and query parameters are decoded', async () => {
  let r = await fetch(`${srv.url}/header`, { headers: { 'X-TEST': 'Mixed Case' } });
  assert.equal(await r.text(), 'Mixed Case');
  r = await fetch(`${srv.url}/query?b=%20sp%2Bace&a=caf%C3%A9`);
  assert.equal(await r.text(), 'a=[café] b=[ sp+ace]');
});

test('1,000 concurrent connections are all served', async () => {
  const N = 1000;
  const sockets = await Promise.all(Array.from({ length: N }, () => connect(srv.port)));
  const readers = sockets.map((s) => new ResponseReader(s));
  sockets.forEach((s, i) => s.write(`GET /query?a=${i} HTTP/1.1\r\nHost: x\r\n\r\n`));
  const res = await Promise.all(readers.map((r) => r.next(30000)));
  res.forEach((r, i) => assert.equal(r.body, `a=[${i}] b=[(none)]`));
  const stats = await (await fetch(`${srv.url}/stats`)).json();
  assert.ok(stats.open >= N, `server saw ${stats.open} open connections`);
  sockets.forEach((s) => s.destroy());
});

test('slowloris: a slow head is cut off while other clients are served', async () => {
  const slow = await startServer('http-test-server', ['--head-timeout', '600', '--idle-timeout', '800']);
  try {
    const s = await connect(slow.port);
    const rd = new ResponseReader(s);
    const t0 = Date.now();
    const head = 'GET /query?a=slow HTTP/1.1\r\nHost: x\r\nX-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n';
    let served = 0;
    // drip one byte every 50 ms (the whole head would take ~3.5 s)
    for (let i = 0; i < head.length && !rd.closed; i++) {
      s.write(head[i]);
      if (i % 4 === 0) {
        const r = await fetch(`${slow.url}/query?a=fast`);
        if ((await r.text()) === 'a=[fast] b=[(none)]') served++;
      }
      await sleep(50);
    }
    const res = await rd.next();
    const elapsed = Date.now() - t0;
    assert.equal(res.status, 408);
    await rd.waitClose();
    assert.ok(elapsed < 3000, `cut off after ${elapsed} ms`);
    assert.ok(served >= 2, `other clients were served meanwhile (${served})`);

    // an idle keep-alive connection is closed after the idle timeout
    const idle = await connect(slow.port);
    const ird = new ResponseReader(idle);
    idle.write('GET /query HTTP/1.1\r\nHost: x\r\n\r\n');
    await ird.next();
    await ird.waitClose(5000);
    // a slow body is cut off too (body timeout defaults to 30 s: use its own server below)
    const stats = await (await fetch(`${slow.url}/stats`)).json();
    assert.ok(stats.timeouts >= 2);
  } finally {
    assert.equal((await slow.stop()).code, 0);
  }
});

test('slow body is cut off by the body timeout', async () => {
  const slow = await startServer('http-test-server', ['--body-timeout', '400']);
  try {
    const s = await connect(slow.port);
    const rd = new ResponseReader(s);
    s.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc');
    const res = await rd.next();
    assert.equal(res.status, 408);
    await rd.waitClose();
  } finally {
    assert.equal((await slow.stop()).code, 0);
  }
});

test('max connections: connections past the limit are closed at once', async () => {
  const lim = await startServer('http-test-server', ['--max-connections', '5']);
  try {
    const held = await Promise.all(Array.from({ length: 5 }, () => connect(lim.port)));
    await sleep(100);
    const extra = await connect(lim.port);
    const rd = new ResponseReader(extra);
    extra.write('GET /query HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(await rd.next(), null, 'refused connection gets no response');
    held.forEach((s) => s.destroy());
    await sleep(100);
    const r = await fetch(`${lim.url}/stats`);
    const st = await r.json();
    assert.ok(st.rejected >= 1);
  } finally {
    assert.equal((await lim.stop()).code, 0);
  }
});

test('graceful shutdown: in-flight requests finish, then the server exits 0', async () => {
  const g = await startServer('http-test-server', ['--grace', '3000']);
  const s = await connect(g.port);
  const rd = new ResponseReader(s);
  s.write('GET /hold?ms=400 HTTP/1.1\r\nHost: x\r\n\r\n');
  await sleep(100);
  const idle = await connect(g.port);
  const ird = new ResponseReader(idle);
  const stopped = g.stop();
  const r = await rd.next();
  assert.equal(r.body, 'held 400');
  assert.equal(r.headers.connection, 'close');
  await ird.waitClose();
  assert.equal((await stopped).code, 0);
});

test('graceful shutdown: a request that outlives the grace period is cut off', async () => {
  const g = await startServer('http-test-server', ['--grace', '200']);
  const s = await connect(g.port);
  const rd = new ResponseReader(s);
  s.write('GET /hold?ms=5000 HTTP/1.1\r\nHost: x\r\n\r\n');
  await sleep(100);
  const t0 = Date.now();
  const r = await g.stop();
  assert.equal(r.code, 0);
  assert.ok(Date.now() - t0 < 3000);
  assert.equal(await rd.next(), null);
});

test('RFC 9112: bad framing and Host are a 400 that closes the connection; other connections carry on', async () => {
  // a keep-alive connection open across all the bad requests
  const good = await connect(srv.port);
  const grd = new ResponseReader(good);
  const ask = async (i) => {
    good.write(`GET /query?a=${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
    const r = await grd.next();
    assert.equal(r.body, `a=[${i}] b=[(none)]`);
  };
  await ask(0);
  const bad = {
    // whitespace between a field name and its colon (5.1): the parser framed this as chunked
    'space before colon (Transfer-Encoding)':
      'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    'space before colon (Content-Length)': 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length : 2\r\n\r\nab',
    'space before colon (Host)': 'GET /query HTTP/1.1\r\nHost : x\r\n\r\n',
    'whitespace before the first header line': 'GET /query HTTP/1.1\r\n Host: x\r\n\r\n',
    // Host (3.2)
    'HTTP/1.1 without Host': 'GET /query HTTP/1.1\r\n\r\n',
    'two Host fields': 'GET /query HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n',
    'two equal Host fields': 'GET /query HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n',
    'two Host fields in HTTP/1.0': 'GET /query HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n',
    'a Host value that is no authority': 'GET /query HTTP/1.1\r\nHost: a b\r\n\r\n',
    'a Host value with userinfo': 'GET /query HTTP/1.1\r\nHost: user@a\r\n\r\n',
    // Content-Length and Transfer-Encoding (6.1, 6.3)
    'two Content-Length fields': 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab',
    'conflicting Content-Length fields':
      'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
    'a Content-Length list': 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2, 2\r\n\r\nab',
    'Content-Length with Transfer-Encoding':
      'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    'Transfer-Encoding with Content-Length':
      'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    'two Transfer-Encoding fields':
      'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    'a coding other than chunked': 'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n',
    'Transfer-Encoding in HTTP/1.0': 'POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  };
  let i = 1;
  for (const [what, raw] of Object.entries(bad)) {
    const s = await connect(srv.port);
    const rd = new ResponseReader(s);
    // a valid request pipelined behind the bad one must not be answered
    s.write(`${raw}GET /query?a=behind HTTP/1.1\r\nHost: x\r\n\r\n`);
    const res = await rd.next();
    assert.equal(res?.status, 400, what);
    assert.equal(res.headers.connection, 'close', what);
    assert.equal(await rd.next(), null, `${what}: nothing after the 400`);
    await rd.waitClose();
    await ask(i++);
  }
  // what stays accepted: HTTP/1.0 without Host, an empty Host, Host with a port
  // or an IPv6 literal, chunked in any case
  const ok = [
    ['GET /query?a=1 HTTP/1.0\r\n\r\n', 'a=[1] b=[(none)]'],
    ['GET /query?a=2 HTTP/1.1\r\nHost:\r\n\r\n', 'a=[2] b=[(none)]'],
    ['GET /query?a=3 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n', 'a=[3] b=[(none)]'],
    ['GET /query?a=4 HTTP/1.1\r\nhost: [::1]:80\r\n\r\n', 'a=[4] b=[(none)]'],
    ['POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n', 'abc'],
  ];
  for (const [raw, body] of ok) {
    const res = await request(srv.port, raw);
    assert.equal(res?.status, 200, JSON.stringify(raw));
    assert.equal(res.body, body);
  }
  await ask(i);
  good.destroy();
});
