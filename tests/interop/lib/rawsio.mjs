// Raw Engine.IO v4 clients for the packet-level Socket.IO tests: every packet
// is written and read as text (or a Buffer for a binary message), so a test
// can send what no real client would.
//
// Both classes have the same interface:
//   const c = await RawPolling.open(url) / await RawWs.open(url)
//   c.handshake                 the open packet's JSON
//   await c.send(...packets)    Engine.IO packets: '40', '42["x"]', or a Buffer (a binary message)
//   await c.next(timeoutMs)     the next packet from the server ('40{...}', a Buffer...);
//                               pings are answered unless autoPong is false
//   await c.closed(timeoutMs)   resolves when the server ended the session
//   c.close()
import WebSocket from 'ws';

const SEP = '\x1e';

function encodePayload(packets) {
  return packets.map((p) => (Buffer.isBuffer(p) ? 'b' + p.toString('base64') : p)).join(SEP);
}

function decodePayload(body) {
  return body.split(SEP).map((p) => (p[0] === 'b' ? Buffer.from(p.slice(1), 'base64') : p));
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms); }),
  ]);
}

export class RawPolling {
  constructor(base, handshake, opts) {
    this.base = base;
    this.handshake = handshake;
    this.sid = handshake.sid;
    this.autoPong = opts.autoPong ?? true;
    this.queue = [];
    this.inflight = null; // the one GET allowed at a time
    this.ended = false;   // a close packet or an error status was seen
    this.controller = new AbortController();
  }

  static async open(url, { path = '/socket.io/', autoPong = true } = {}) {
    const base = `${url}${path}?EIO=4&transport=polling`;
    const r = await fetch(base);
    const body = await r.text();
    if (r.status !== 200 || body[0] !== '0') throw new Error(`handshake: ${r.status} ${body}`);
    return new RawPolling(base, JSON.parse(body.slice(1)), { autoPong });
  }

  get url() { return `${this.base}&sid=${encodeURIComponent(this.sid)}`; }

  async send(...packets) {
    const r = await fetch(this.url, {
      method: 'POST',
      body: encodePayload(packets),
      headers: { 'content-type': 'text/plain;charset=UTF-8' },
      signal: this.controller.signal,
    });
    const text = await r.text();
    if (r.status !== 200) this.ended = true;
    return { status: r.status, body: text };
  }

  #poll() {
    if (!this.inflight) {
      this.inflight = (async () => {
        try {
          const r = await fetch(this.url, { signal: this.controller.signal });
          const body = await r.text();
          if (r.status !== 200) {
            this.ended = true;
            this.queue.push({ status: r.status, body });
            return;
          }
          for (const p of decodePayload(body)) {
            if (p === '2' && this.autoPong) { this.send('3').catch(() => {}); continue; }
            if (p === '1') this.ended = true;
            this.queue.push(p);
          }
        } catch (e) {
          this.ended = true;
          this.queue.push({ error: e });
        } finally {
          this.inflight = null;
        }
      })();
    }
    return this.inflight;
  }

  // The next packet; an HTTP error or a network failure comes as an object.
  async next(timeoutMs = 5000) {
    const deadline = Date.now() + timeoutMs;
    while (!this.queue.length) {
      if (this.ended && !this.inflight) throw new Error('session ended');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no packet within ${timeoutMs} ms`);
      await withTimeout(this.#poll(), left, 'poll').catch((e) => { if (!this.queue.length) throw e; });
    }
    return this.queue.shift();
  }

  // Resolves with how the session ended: 'close packet' (a "1" in a poll) or
  // the HTTP status of the poll that found the session gone.
  async closed(timeoutMs = 5000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`session still open after ${timeoutMs} ms`);
      let p;
      try { p = await this.next(left); } catch (e) { if (this.ended) return 'ended'; throw e; }
      if (p === '1') return 'close packet';
      if (p && typeof p === 'object' && !Buffer.isBuffer(p)) return p.status ? `status ${p.status}` : 'error';
    }
  }

  close() { this.controller.abort(); }
}

export class RawWs {
  constructor(ws, opts) {
    this.ws = ws;
    this.autoPong = opts.autoPong ?? true;
    this.queue = [];
    this.waiters = [];
    this.isClosed = false;
    this.closeCode = null;
    ws.on('message', (data, isBinary) => {
      const p = isBinary ? Buffer.from(data) : data.toString();
      if (p === '2' && this.autoPong) { ws.send('3'); return; }
      this.queue.push(p);
      this.#pump();
    });
    ws.on('close', (code) => { this.isClosed = true; this.closeCode = code; this.#pump(); });
    ws.on('error', () => {});
  }

  static async open(url, { path = '/socket.io/', autoPong = true } = {}) {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}${path}?EIO=4&transport=websocket`);
    const c = new RawWs(ws, { autoPong });
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    const open = await c.next();
    if (typeof open !== 'string' || open[0] !== '0') throw new Error(`handshake: ${open}`);
    c.handshake = JSON.parse(open.slice(1));
    c.sid = c.handshake.sid;
    return c;
  }

  #pump() {
    while (this.waiters.length && (this.queue.length || this.isClosed)) {
      const w = this.waiters.shift();
      if (this.queue.length) w.resolve(this.queue.shift());
      else w.reject(new Error('session ended'));
    }
  }

  async send(...packets) {
    for (const p of packets) if (!this.isClosed) this.ws.send(p, { binary: Buffer.isBuffer(p) });
    return { status: 200 };
  }

  next(timeoutMs = 5000) {
    return withTimeout(new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.#pump();
    }), timeoutMs, 'websocket');
  }

  async closed(timeoutMs = 5000) {
    if (!this.isClosed) await withTimeout(new Promise((r) => this.ws.once('close', r)), timeoutMs, 'close');
    return `close ${this.closeCode}`;
  }

  close() { this.ws.terminate(); }
}

export const RAW = [
  { name: 'polling', open: (url, o) => RawPolling.open(url, o) },
  { name: 'websocket', open: (url, o) => RawWs.open(url, o) },
];
