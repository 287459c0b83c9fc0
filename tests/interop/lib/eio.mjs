// Raw Engine.IO helpers for the tests that check the wire format byte for
// byte: polling requests over keep-alive TCP connections (rawhttp.mjs), the
// v4 payload format, and a WebSocket peer (npm `ws`) with a message queue.
import fs from 'node:fs';
import WebSocket from 'ws';
import { connect, ResponseReader } from './rawhttp.mjs';

export const PATH = '/engine.io/';

// The v4 polling payload: packets joined by the record separator.
export const SEP = '\x1e';
export const splitPayload = (body) => body.split(SEP);

// One keep-alive HTTP/1.1 connection that sends a request and waits for its response.
export class HttpConn {
  static async open(port) {
    const c = new HttpConn();
    c.port = port;
    c.socket = await connect(port);
    c.reader = new ResponseReader(c.socket);
    c.lastUsed = Date.now();
    return c;
  }
  // Sends the request and returns a promise of its response (null if the connection closed).
  send(method, query, { body = null, headers = {}, timeoutMs = 10000 } = {}) {
    const buf = body === null ? null : Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
    let head = `${method} ${PATH}?${query} HTTP/1.1\r\nHost: 127.0.0.1:${this.port}\r\n`;
    for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
    if (buf) head += `Content-Length: ${buf.length}\r\n`;
    const idle = Date.now() - this.lastUsed;
    this.socket.write(buf ? Buffer.concat([Buffer.from(head + '\r\n', 'latin1'), buf]) : head + '\r\n');
    return this.reader.next(timeoutMs).then((res) => {
      this.lastUsed = Date.now();
      if (res === null) this.lastClose = `closed after ${idle} ms idle and ${Date.now() - this.lastUsed} ms waiting`;
      return res;
    });
  }
  get closed() {
    return this.reader.closed;
  }
  close() {
    this.socket.destroy();
  }
}

// A one-shot request on a fresh connection.
export async function once(port, method, query, opts) {
  const c = await HttpConn.open(port);
  try {
    return await c.send(method, query, opts);
  } finally {
    c.close();
  }
}

// Parses a v4 polling handshake response: { res, open, sid }.
export function parseOpen(res) {
  if (!res || res.status !== 200 || res.body[0] !== '0') {
    throw new Error(`not an open packet: ${res && res.status} ${res && res.body}`);
  }
  const open = JSON.parse(res.body.slice(1));
  return { res, open, sid: open.sid };
}

export async function handshake(port, { query = 'EIO=4&transport=polling', conn = null, headers } = {}) {
  const res = conn ? await conn.send('GET', query, { headers }) : await once(port, 'GET', query, { headers });
  return parseOpen(res);
}

export const pollQuery = (sid) => `EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`;

// A WebSocket peer: messages queue up; next() takes them in order.
export class WsPeer {
  constructor(url, opts = {}) {
    this.ws = new WebSocket(url, { perMessageDeflate: false, ...opts });
    this.queue = [];
    this.waiters = [];
    this.closeInfo = null;
    this.ws.on('message', (data, isBinary) => {
      this.queue.push(isBinary ? Buffer.from(data) : data.toString('utf8'));
      this.#pump();
    });
    this.ws.on('close', (code, reason) => {
      this.closeInfo = { code, reason: reason.toString() };
      this.#pump();
    });
    this.ws.on('error', () => {});
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('unexpected-response', (req, res) => {
        let body = '';
        res.on('data', (d) => { body += d; });
        res.on('end', () => reject(Object.assign(new Error(`refused: ${res.statusCode}`),
          { status: res.statusCode, body, headers: res.headers })));
      });
      this.ws.once('error', reject);
    });
  }
  static async open(port, query) {
    const p = new WsPeer(`ws://127.0.0.1:${port}${PATH}?${query}`);
    await p.opened;
    return p;
  }
  #pump() {
    while (this.waiters.length && (this.queue.length || this.closeInfo)) {
      const w = this.waiters.shift();
      clearTimeout(w.timer);
      if (this.queue.length) w.resolve(this.queue.shift());
      else w.reject(Object.assign(new Error(`websocket closed (${this.closeInfo.code})`), { closed: this.closeInfo }));
    }
  }
  // The next message (string for text, Buffer for binary).
  next(timeoutMs = 10000) {
    return new Promise((resolve, reject) => {
      const w = { resolve, reject };
      w.timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error('no websocket message in time'));
      }, timeoutMs);
      this.waiters.push(w);
      this.#pump();
    });
  }
  // The next message that is not a ping "2" (answered with "3" when pong is set).
  async nextData({ pong = true, timeoutMs = 10000 } = {}) {
    for (let i = 0; i < 1000; i++) {
      const m = await this.next(timeoutMs);
      if (m === '2') {
        if (pong) this.send('3');
        continue;
      }
      return m;
    }
    throw new Error('only pings');
  }
  send(data) {
    this.ws.send(data);
  }
  waitClose(timeoutMs = 10000) {
    if (this.closeInfo) return Promise.resolve(this.closeInfo);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('websocket not closed in time')), timeoutMs);
      this.ws.once('close', () => { clearTimeout(timer); resolve(this.closeInfo); });
    });
  }
  close() {
    this.ws.close();
  }
  terminate() {
    this.ws.terminate();
  }
}

// The server's resident set size in KiB, from /proc (Linux).
export function rssKiB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) : NaN;
}

// Waits for a client socket (made by `make`, any engine.io-client version) to
// open; its received messages collect in `got`, its close reason in closeReason.
export async function openClient(make) {
  const s = make();
  s.got = [];
  s.closeReason = null;
  s.on('message', (d) => s.got.push(d));
  s.on('close', (reason) => { s.closeReason = reason; });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no open in time')), 10000);
    s.once('open', () => { clearTimeout(timer); resolve(); });
    s.once('error', (e) => { clearTimeout(timer); reject(e); });
  });
  return s;
}

// Polls cond() every 5 ms until it holds, or fails after timeoutMs.
export async function until(cond, what, timeoutMs = 15000) {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

// Closes a client socket and resolves once it is closed.
export function closeClient(s) {
  return new Promise((resolve) => {
    if (s.readyState === 'closed') return resolve();
    s.once('close', () => resolve());
    s.close();
  });
}
