// A small MessagePack encoder for writing adapter messages by hand in the
// cluster tests (well-formed ones, and, through raw(), malformed ones), with
// the width of each value under the test's control: encode() picks the
// smallest form as notepack.io does; str(s, w), bin(b, w), arr(a, w), map(o, w)
// and int(n, w) force the width (w = 8, 16 or 32 bits of length; for int, the
// MessagePack type byte). Not a decoder: what comes back is checked by the
// clients that receive it.
const WIDTH = Symbol('width');

const wrap = (kind, value, width) => ({ [WIDTH]: kind, value, width });
export const str = (s, width) => wrap('str', s, width);
export const bin = (b, width) => wrap('bin', b, width);
export const arr = (a, width) => wrap('arr', a, width);
export const map = (o, width) => wrap('map', o, width);
export const int = (n, type) => wrap('int', n, type);
export const f64 = (n) => wrap('f64', n);
export const raw = (bytes) => wrap('raw', Buffer.from(bytes));

function len(out, n, fix, fixMax, codes, width) {
  if (width === undefined && fix !== null && n <= fixMax) return out.push(Buffer.from([fix | n]));
  const w = width ?? (n <= 0xff && codes[8] !== undefined ? 8 : n <= 0xffff ? 16 : 32);
  const b = Buffer.alloc(1 + w / 8);
  b[0] = codes[w];
  if (w === 8) b[1] = n;
  else if (w === 16) b.writeUInt16BE(n, 1);
  else b.writeUInt32BE(n, 1);
  return out.push(b);
}

function intBytes(n, type) {
  if (type === undefined) {
    if (n >= 0 && n <= 0x7f) return Buffer.from([n]);
    if (n < 0 && n >= -32) return Buffer.from([n & 0xff]);
    if (n >= 0) type = n <= 0xff ? 0xcc : n <= 0xffff ? 0xcd : n <= 0xffffffff ? 0xce : 0xcf;
    else type = n >= -0x80 ? 0xd0 : n >= -0x8000 ? 0xd1 : n >= -0x80000000 ? 0xd2 : 0xd3;
  }
  const size = { 0xcc: 1, 0xcd: 2, 0xce: 4, 0xcf: 8, 0xd0: 1, 0xd1: 2, 0xd2: 4, 0xd3: 8 }[type];
  const b = Buffer.alloc(1 + size);
  b[0] = type;
  if (size === 8) {
    if (type === 0xcf) b.writeBigUInt64BE(BigInt(n), 1);
    else b.writeBigInt64BE(BigInt(n), 1);
  } else if (type >= 0xd0) b.writeIntBE(n, 1, size);
  else b.writeUIntBE(n, 1, size);
  return b;
}

function put(out, v) {
  const kind = v !== null && typeof v === 'object' ? v[WIDTH] : undefined;
  if (kind === 'raw') return out.push(v.value);
  if (kind === 'int') return out.push(intBytes(v.value, v.width));
  if (kind === 'f64') {
    const b = Buffer.alloc(9);
    b[0] = 0xcb;
    b.writeDoubleBE(v.value, 1);
    return out.push(b);
  }
  if (kind === 'str' || typeof v === 'string') {
    const s = Buffer.from(kind ? v.value : v, 'utf8');
    len(out, s.length, 0xa0, 31, { 8: 0xd9, 16: 0xda, 32: 0xdb }, kind ? v.width : undefined);
    return out.push(s);
  }
  if (kind === 'bin' || Buffer.isBuffer(v)) {
    const b = kind ? Buffer.from(v.value) : v;
    len(out, b.length, null, 0, { 8: 0xc4, 16: 0xc5, 32: 0xc6 }, kind ? v.width : undefined);
    return out.push(b);
  }
  if (kind === 'arr' || Array.isArray(v)) {
    const a = kind ? v.value : v;
    len(out, a.length, 0x90, 15, { 16: 0xdc, 32: 0xdd }, kind ? v.width : undefined);
    for (const x of a) put(out, x);
    return undefined;
  }
  if (v === null || v === undefined) return out.push(Buffer.from([0xc0]));
  if (v === false) return out.push(Buffer.from([0xc2]));
  if (v === true) return out.push(Buffer.from([0xc3]));
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= -(2 ** 63) && v < 2 ** 64) return out.push(intBytes(v));
    return put(out, f64(v));
  }
  const o = kind === 'map' ? v.value : v;
  const entries = Object.entries(o).filter(([, x]) => x !== undefined);
  len(out, entries.length, 0x80, 15, { 16: 0xde, 32: 0xdf }, kind ? v.width : undefined);
  for (const [k, x] of entries) {
    put(out, k);
    put(out, x);
  }
  return undefined;
}

// The MessagePack bytes of `value` (a Buffer).
export function encode(value) {
  const out = [];
  put(out, value);
  return Buffer.concat(out);
}

// A broadcast as @socket.io/redis-adapter 8 publishes it on socket.io#<nsp>#...:
// [uid, {type: 2, data, nsp}, {rooms, except, flags}].
export function broadcast(uid, nsp, data, { rooms = [], except = [], flags = {} } = {}) {
  return encode([uid, { type: 2, data, nsp }, { rooms, except, flags }]);
}
