// A raw TCP HTTP/1.1 client for the tests that must control every byte
// (pipelining, malformed requests, slow senders, traversal paths that a URL
// library would normalize away).
import net from 'node:net';

export function connect(port, host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host }, () => resolve(s));
    s.once('error', reject);
  });
}

// Reads responses off a socket: parses status, headers and a Content-Length body.
export class ResponseReader {
  constructor(socket) {
    this.socket = socket;
    this.buf = Buffer.alloc(0);
    this.waiters = [];
    this.closed = false;
    socket.on('data', (d) => { this.buf = Buffer.concat([this.buf, d]); this.#pump(); });
    socket.on('close', () => { this.closed = true; this.#pump(); });
    socket.on('error', () => {});
  }
  #tryParse() {
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0) return null;
    const head = this.buf.subarray(0, end).toString('latin1');
    const [statusLine, ...lines] = head.split('\r\n');
    const status = Number(statusLine.split(' ')[1]);
    const headers = {};
    for (const l of lines) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
    }
    let len = Number(headers['content-length'] || 0);
    if (status === 100 || status === 101) len = 0;
    if (this.noBody) len = 0;
    if (this.buf.length < end + 4 + len) return null;
    const body = this.buf.subarray(end + 4, end + 4 + len);
    this.buf = this.buf.subarray(end + 4 + len);
    return { status, statusLine, headers, body: body.toString('utf8'), raw: body };
  }
  #pump() {
    while (this.waiters.length) {
      const r = this.#tryParse();
      if (r) { this.waiters.shift().resolve(r); continue; }
      if (this.closed) { this.waiters.shift().resolve(null); continue; }
      break;
    }
  }
  // Resolves with the next response, or null if the connection closed first.
  next(timeoutMs = 10000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no response in time')), timeoutMs);
      this.waiters.push({ resolve: (r) => { clearTimeout(timer); resolve(r); } });
      this.#pump();
    });
  }
  waitClose(timeoutMs = 10000) {
    return new Promise((resolve, reject) => {
      if (this.closed) return resolve(true);
      const timer = setTimeout(() => reject(new Error('connection not closed in time')), timeoutMs);
      this.socket.once('close', () => { clearTimeout(timer); resolve(true); });
    });
  }
}

export async function request(port, raw, { timeoutMs = 10000 } = {}) {
  const s = await connect(port);
  const r = new ResponseReader(s);
  s.write(raw);
  const res = await r.next(timeoutMs);
  s.destroy();
  return res;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
