// A raw WebSocket client for the tests that must control every byte: the
// opening handshake written by hand, client frames built field by field (so a
// test can break any rule of RFC 6455), and a reader that parses the server's
// handshake answer and then its frames.
import crypto from 'node:crypto';
import { connect } from './rawhttp.mjs';

export const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export const OP = { CONT: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa };

export function acceptFor(key) {
  return crypto.createHash('sha1').update(key + WS_GUID).digest('base64');
}

export function randomKey() {
  return crypto.randomBytes(16).toString('base64');
}

// The request head of a handshake; `headers` entries replace the defaults
// (a null value drops a header), `extra` lines are appended as given.
export function handshakeRequest({ path = '/ws', method = 'GET', key = randomKey(), headers = {}, extra = [] } = {}) {
  const h = {
    Host: '127.0.0.1',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': key,
    'Sec-WebSocket-Version': '13',
    ...headers,
  };
  let s = `${method} ${path} HTTP/1.1\r\n`;
  for (const [k, v] of Object.entries(h)) if (v !== null && v !== undefined) s += `${k}: ${v}\r\n`;
  for (const line of extra) s += `${line}\r\n`;
  return `${s}\r\n`;
}

/*
 * One client frame. Options:
 *   fin (true), rsv (0..7: RSV1 = 4, RSV2 = 2, RSV3 = 1), opcode, payload
 *   (Buffer or string), mask (true; false sends it unmasked),
 *   lenForm (7, 16 or 64: force a length encoding, even a non-minimal one),
 *   rawLen (a BigInt written as the 64-bit length field as is; lenForm 64).
 */
export function frame({ fin = true, rsv = 0, opcode, payload = Buffer.alloc(0), mask = true, lenForm, rawLen } = {}) {
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const len = data.length;
  const form = lenForm ?? (rawLen !== undefined ? 64 : len < 126 ? 7 : len < 65536 ? 16 : 64);
  const head = [((fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f))];
  const maskBit = mask ? 0x80 : 0;
  let ext = Buffer.alloc(0);
  if (form === 7) {
    head.push(maskBit | len);
  } else if (form === 16) {
    head.push(maskBit | 126);
    ext = Buffer.alloc(2);
    ext.writeUInt16BE(len);
  } else {
    head.push(maskBit | 127);
    ext = Buffer.alloc(8);
    ext.writeBigUInt64BE(rawLen !== undefined ? rawLen : BigInt(len));
  }
  const parts = [Buffer.from(head), ext];
  if (mask) {
    const key = crypto.randomBytes(4);
    const masked = Buffer.alloc(len);
    for (let i = 0; i < len; i++) masked[i] = data[i] ^ key[i & 3];
    parts.push(key, masked);
  } else {
    parts.push(data);
  }
  return Buffer.concat(parts);
}

export function closeBody(code, reason = '') {
  const r = Buffer.isBuffer(reason) ? reason : Buffer.from(reason);
  const b = Buffer.alloc(2 + r.length);
  b.writeUInt16BE(code);
  r.copy(b, 2);
  return b;
}

// Reads the handshake answer, then server frames (never masked), off a socket.
export class FrameReader {
  constructor(socket) {
    this.socket = socket;
    this.buf = Buffer.alloc(0);
    this.head = null; // the parsed handshake answer
    this.frames = [];
    this.waiters = [];
    this.closed = false;
    this.error = null; // a server frame that breaks the RFC
    socket.on('data', (d) => { this.buf = Buffer.concat([this.buf, d]); this.#pump(); });
    socket.on('close', () => { this.closed = true; this.#pump(); });
    socket.on('error', () => {});
  }

  #parseHead() {
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0) return false;
    const [statusLine, ...lines] = this.buf.subarray(0, end).toString('latin1').split('\r\n');
    const headers = {};
    for (const l of lines) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
    }
    const status = Number(statusLine.split(' ')[1]);
    let bodyLen = status === 101 ? 0 : Number(headers['content-length'] || 0);
    if (this.buf.length < end + 4 + bodyLen) return false;
    const body = this.buf.subarray(end + 4, end + 4 + bodyLen).toString('utf8');
    this.buf = this.buf.subarray(end + 4 + bodyLen);
    this.head = { status, statusLine, headers, body };
    return true;
  }

  #parseFrame() {
    const b = this.buf;
    if (b.length < 2) return null;
    let len = b[1] & 0x7f;
    let off = 2;
    if (len === 126) {
      if (b.length < 4) return null;
      len = b.readUInt16BE(2);
      off = 4;
    } else if (len === 127) {
      if (b.length < 10) return null;
      len = Number(b.readBigUInt64BE(2));
      off = 10;
    }
    if (b[1] & 0x80) this.error = 'server frame is masked';
    if (b.length < off + len) return null;
    const f = {
      fin: !!(b[0] & 0x80),
      rsv: (b[0] >> 4) & 7,
      opcode: b[0] & 0x0f,
      payload: Buffer.from(b.subarray(off, off + len)),
    };
    if (f.opcode === OP.CLOSE) {
      f.code = len >= 2 ? f.payload.readUInt16BE(0) : null;
      f.reason = len > 2 ? f.payload.subarray(2).toString('utf8') : '';
    }
    this.buf = b.subarray(off + len);
    return f;
  }

  #pump() {
    for (;;) {
      if (!this.head) {
        if (!this.#parseHead()) break;
        continue;
      }
      const f = this.#parseFrame();
      if (!f) break;
      this.frames.push(f);
    }
    while (this.waiters.length) {
      const w = this.waiters[0];
      if (w.kind === 'head' && this.head) { this.waiters.shift().resolve(this.head); continue; }
      if (w.kind === 'frame' && this.frames.length) { this.waiters.shift().resolve(this.frames.shift()); continue; }
      if (this.closed) { this.waiters.shift().resolve(null); continue; }
      break;
    }
  }

  #wait(kind, timeoutMs) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== entry);
        reject(new Error(`no ${kind} in ${timeoutMs} ms`));
      }, timeoutMs);
      const entry = { kind, resolve: (v) => { clearTimeout(timer); resolve(v); } };
      this.waiters.push(entry);
      this.#pump();
    });
  }

  // The handshake answer ({status, headers, body}), or null if the connection closed first.
  handshake(timeoutMs = 10000) { return this.#wait('head', timeoutMs); }
  // The next server frame, or null once the connection closed.
  next(timeoutMs = 10000) { return this.#wait('frame', timeoutMs); }

  // Skips data frames up to the first close frame; null if TCP closed without one.
  async nextClose(timeoutMs = 10000) {
    for (let i = 0; i < 10000; i++) {
      const f = await this.next(timeoutMs);
      if (!f || f.opcode === OP.CLOSE) return f;
    }
    throw new Error('no close frame among 10000 frames');
  }

  waitClose(timeoutMs = 10000) {
    return new Promise((resolve, reject) => {
      if (this.closed) return resolve(true);
      const timer = setTimeout(() => reject(new Error('connection not closed in time')), timeoutMs);
      this.socket.once('close', () => { clearTimeout(timer); resolve(true); });
    });
  }
}

// Connects and sends a handshake; resolves with { socket, reader, res } once
// the answer head is in (res.status is 101 on success).
export async function openRaw(port, opts = {}) {
  const socket = await connect(port);
  socket.setNoDelay(true);
  const reader = new FrameReader(socket);
  socket.write(handshakeRequest(opts));
  const res = await reader.handshake();
  return { socket, reader, res };
}
