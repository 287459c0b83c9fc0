#!/usr/bin/env node
/*
 * bench/hostile.mjs: the hostile-load measurement. Starts a real
 * sio-test-server (Release build) with the library's default limits and
 * attacks it from loopback with up to ~19,500 connections at once, mixing
 * every way one client can make a server hold memory; samples the server's
 * RSS every 200 ms and prints, per phase, what the server held.
 *
 *   a  WebSocket Socket.IO clients in /chat that never read, while one
 *      well-behaved client floods msg_to_server broadcasts (4 KB)
 *   b  polling sessions on /engine.io/ that never GET, POSTing ~1 MB echo
 *      messages until refused, many sessions per keep-alive connection
 *   c  pipelined GET /socket.io/socket.io.js.map, never read
 *   d  slowloris (a nearly full head, then one byte a second) and half-sent
 *      1 MB bodies
 *   e  WebSocket messages that never finish (one max-size frame cut short;
 *      fragments without FIN) and ping floods without reading
 *   f  many namespace CONNECTs (/dyn-N) and room joins (/chat) per client
 *
 * Each phase adds its clients to those of the phases before (the server's
 * cut-offs and timeouts are answered by reconnecting, a bounded number of
 * times), so the last phase, "all", is every attack at once. Then every
 * client leaves; the script checks that a fresh client is served and that
 * SIGTERM ends the server with status 0.
 *
 * The clients run in two worker processes (this file with --worker), each
 * under the 20,000 descriptors a process may open; the main process only
 * samples and orders the phases. Safety: past --rss-cap-mb of server RSS,
 * or --kernel-cap-mb of kernel TCP memory (/proc/net/sockstat), no more
 * clients start and no more data is sent (the report says so).
 *
 * usage: node bench/hostile.mjs [--bin-dir DIR] [--scale F] [--hold-ms MS]
 *        [--all-ms MS] [--rss-cap-mb N] [--kernel-cap-mb N] [--fill N]
 *        [--phases abcfde] [--rounds N] [--json FILE] [--server-arg ARG]...
 * --scale multiplies every phase's client count (1: 19,400 connections);
 * --hold-ms is how long each phase holds before the next starts, --all-ms
 * how long all of them are held together; --fill how many of phase a's
 * non-readers the flood fills (each takes ~4 MB of kernel buffers); --rounds
 * repeats phases, hold and release against the same server (RSS after each
 * release tells a leak from the allocator keeping freed memory).
 * The bin dir (with sio-test-server) comes from --bin-dir, else SIO_BIN_DIR,
 * else build/h-rel/bin. Exit status: 0 when the server survived, served a
 * fresh client and exited 0 on SIGTERM; 1 otherwise.
 */
import { fork, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');

/* ---------------------------------------------------------------- options */

function parseArgs(argv) {
    const o = {
        binDir: process.env.SIO_BIN_DIR || path.join(ROOT, 'build/h-rel/bin'),
        scale: 1,
        holdMs: 5000,
        allMs: 15000,
        rssCapMb: 4096,
        kernelCapMb: 1400,
        phases: 'abcfde',
        fill: 200,
        rounds: 1,
        json: null,
        serverArgs: [],
        worker: false,
    };
    for (let i = 2; i < argv.length; i++) {
        const a = argv[i];
        const next = () => {
            if (i + 1 >= argv.length) die(`${a} needs a value`);
            return argv[++i];
        };
        const num = (lo, hi) => {
            const s = next(), v = Number(s);
            if (!/^[0-9.]+$/.test(s) || !(v >= lo && v <= hi)) die(`${a}: ${s} is not in ${lo}..${hi}`);
            return v;
        };
        if (a === '--worker') o.worker = true;
        else if (a === '--bin-dir') o.binDir = next();
        else if (a === '--scale') o.scale = num(0.001, 1.05);
        else if (a === '--hold-ms') o.holdMs = num(0, 60000);
        else if (a === '--all-ms') o.allMs = num(0, 120000);
        else if (a === '--rss-cap-mb') o.rssCapMb = num(64, 65536);
        else if (a === '--fill') o.fill = num(0, 20000);
        else if (a === '--rounds') o.rounds = num(1, 5);
        else if (a === '--kernel-cap-mb') o.kernelCapMb = num(16, 65536);
        else if (a === '--phases') {
            o.phases = next();
            if (!/^[a-f]+$/.test(o.phases)) die('--phases: letters a..f, in the order to run');
        } else if (a === '--json') o.json = next();
        else if (a === '--server-arg') o.serverArgs.push(next());
        else if (a === '--help' || a === '-h') {
            console.log(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0]);
            process.exit(0);
        } else die(`unknown option ${a}`);
    }
    return o;
}

function die(msg) {
    console.error(`hostile.mjs: ${msg}`);
    process.exit(2);
}

/* How many clients each attack uses at scale 1 (19,400 connections at once,
 * plus the flood sender), and which worker runs it. Worker 0 holds 7,401,
 * worker 1 holds 12,000: each under its 20,000-descriptor limit, and the
 * server (20,000 too) under its own with room for the fresh client. Phase c
 * is small because each of its clients takes ~2 MB of kernel buffers. */
const PLAN = {
    a: { worker: 0, units: 7000, what: 'non-reading WebSocket clients in /chat + 1 flooder' },
    b: { worker: 0, units: 100, what: 'polling sessions that never GET, 1 MB POSTs' },
    c: { worker: 0, units: 300, what: 'pipelined GET socket.io.js.map, never read' },
    d: { worker: 1, units: 6500, what: 'slowloris heads / half-sent 1 MB bodies' },
    e: { worker: 1, units: 4500, what: 'unfinished WS messages / ping floods' },
    f: { worker: 1, units: 1000, what: 'namespace CONNECTs and room joins' },
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const MB = 1024 * 1024;

/* ---------------------------------------------------------- wire helpers */

const WS_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
function wsUpgrade(p) {
    return (
        `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${WS_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`
    );
}

/* A client frame header (masked with the key 0, so the payload goes as is). */
function wsHeader(op, len, fin = true) {
    let h;
    if (len < 126) {
        h = Buffer.alloc(6);
        h[1] = 0x80 | len;
    } else if (len < 65536) {
        h = Buffer.alloc(8);
        h[1] = 0x80 | 126;
        h.writeUInt16BE(len, 2);
    } else {
        h = Buffer.alloc(14);
        h[1] = 0x80 | 127;
        h.writeBigUInt64BE(BigInt(len), 2);
    }
    h[0] = (fin ? 0x80 : 0) | op;
    return h;
}

function wsText(s) {
    const p = Buffer.from(s);
    return Buffer.concat([wsHeader(1, p.length), p]);
}

/* Reads the 101 answer, then the server's (unmasked) frames; calls
 * onText(string) for each text frame and onBinary/onOther as given. */
class WsReader {
    constructor(onText) {
        this.onText = onText;
        this.buf = null;
        this.head = true;
        this.status = 0;
    }
    push(chunk) {
        this.buf = this.buf ? Buffer.concat([this.buf, chunk]) : chunk;
        let off = 0;
        const b = this.buf;
        if (this.head) {
            const end = b.indexOf('\r\n\r\n');
            if (end < 0) return;
            this.status = Number(b.toString('latin1', 9, 12));
            this.head = false;
            off = end + 4;
        }
        while (b.length - off >= 2) {
            const op = b[off] & 0x0f;
            let len = b[off + 1] & 0x7f, hl = 2;
            if (len === 126) {
                if (b.length - off < 4) break;
                len = b.readUInt16BE(off + 2);
                hl = 4;
            } else if (len === 127) {
                if (b.length - off < 10) break;
                len = Number(b.readBigUInt64BE(off + 2));
                hl = 10;
            }
            if (b.length - off < hl + len) break;
            if (op === 1) this.onText(b.toString('utf8', off + hl, off + hl + len));
            off += hl + len;
        }
        this.buf = off >= b.length ? null : b.subarray(off);
    }
}

/* Reads HTTP/1.1 responses with Content-Length from a keep-alive connection. */
class HttpReader {
    constructor() {
        this.buf = null;
        this.waiters = [];
    }
    push(chunk) {
        this.buf = this.buf ? Buffer.concat([this.buf, chunk]) : chunk;
        for (;;) {
            const b = this.buf;
            if (!b || !this.waiters.length) return;
            const end = b.indexOf('\r\n\r\n');
            if (end < 0) return;
            const head = b.toString('latin1', 0, end);
            const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
            const len = m ? Number(m[1]) : 0;
            if (b.length < end + 4 + len) return;
            const body = b.toString('utf8', end + 4, end + 4 + len);
            this.buf = b.length > end + 4 + len ? b.subarray(end + 4 + len) : null;
            this.waiters.shift().resolve({ status: Number(head.slice(9, 12)), body, head });
        }
    }
    next() {
        return new Promise((resolve, reject) => {
            this.waiters.push({ resolve, reject });
            this.push(Buffer.alloc(0));
        });
    }
    fail(err) {
        for (const w of this.waiters.splice(0)) w.reject(err);
    }
}

/* ================================================================ worker */

function worker(opts) {
    let port = 0;
    /* The main process's caps. Each client has a class: 'unread' (data the
     * server sends and nobody reads: it fills kernel buffers), 'heavy' (input
     * the server holds: it fills the server) or 'light'. Past the kernel cap
     * ("quiet") no more unread data is sent and no unread clients start; past
     * the RSS cap ("stopped") no client starts again. */
    let stopped = false;
    let quiet = false;
    const held = (cls) => stopped || (quiet && cls === 'unread');
    let released = false;
    const sockets = new Set();
    const stats = {};
    const timers = new Set();

    const st = (ph) =>
        (stats[ph] ??= {
            started: 0,
            open: 0,
            peakOpen: 0,
            connectErrors: 0,
            closedByServer: 0,
            respawns: 0,
            bytesSent: 0,
        });

    function every(ms, fn) {
        const t = setInterval(fn, ms);
        timers.add(t);
        return t;
    }

    /* A connection of phase ph; counted while open. onClose(byUs) after. */
    function open(ph, onClose) {
        const s = st(ph);
        const sock = net.connect({ host: '127.0.0.1', port });
        sock.setNoDelay(true);
        s.started++;
        let connected = false;
        sock.on('connect', () => {
            connected = true;
            s.open++;
            if (s.open > s.peakOpen) s.peakOpen = s.open;
        });
        sock.on('error', () => {});
        sock.on('close', () => {
            sockets.delete(sock);
            if (connected) s.open--;
            else s.connectErrors++;
            if (!sock.byUs && connected) s.closedByServer++;
            onClose?.(connected);
        });
        sock.kill = () => {
            sock.byUs = true;
            if (sock.readyState === 'closed') return;
            try {
                sock.resetAndDestroy();
            } catch {
                sock.destroy();
            }
        };
        const w = sock.write.bind(sock);
        sock.send = (data) => {
            if (released || sock.destroyed) return false;
            s.bytesSent += data.length;
            return w(data);
        };
        sockets.add(sock);
        return sock;
    }

    /* Keeps unit i of a phase alive: runs it, and again when the server
     * closes it (at most `respawns` times, not after stop or release). */
    function keep(ph, respawns, run, cls = 'light') {
        let left = respawns;
        return new Promise((settled) => {
            let first = true;
            const go = () => {
                const sock = run(() => {
                    if (first) {
                        first = false;
                        settled();
                    }
                });
                sock.on('close', () => {
                    if (first) {
                        first = false;
                        settled();
                    }
                    if (sock.byUs || released || held(cls) || left-- <= 0) return;
                    st(ph).respawns++;
                    const t = setTimeout(() => {
                        timers.delete(t);
                        if (!released && !held(cls)) go();
                    }, 200 + Math.random() * 800);
                    timers.add(t);
                });
            };
            go();
        });
    }

    /* Starts n units, at most `par` connecting at once. */
    async function launch(n, par, unit, cls = () => 'light') {
        let next = 0;
        const lanes = [];
        for (let l = 0; l < par; l++)
            lanes.push(
                (async () => {
                    while (next < n && !released) {
                        const i = next++;
                        if (held(cls(i))) continue;
                        await unit(i);
                    }
                })()
            );
        await Promise.all(lanes);
    }

    /* Sends a blind Engine.IO pong frame on every WebSocket of the set every
     * 10 s, so that clients that never read outlive the heartbeat. */
    function blindPongs(set) {
        const pong = wsText('3');
        every(10000, () => {
            for (const sock of set) if (!sock.destroyed) sock.send(pong);
        });
    }

    /* ---- a: non-readers in /chat, one flooder ----
     * A non-reader's backlog sits first in the kernel (the server's send
     * buffer grows to tcp_wmem's maximum, 4 MB, on loopback) and only then in
     * the server's queue; so the flood goes to the first `fill` of them (room
     * "fill", to_room) until each is cut off, and the others get one 4 KB
     * broadcast to all of /chat every 5 s. */
    async function phaseA(n, fill) {
        const s = st('a');
        Object.assign(s, { joined: 0, fillJoined: 0, floodSent: 0, floodEchoed: 0, broadcasts: 0 });
        const nonReaders = new Set();
        blindPongs(nonReaders);
        const payload = 'x'.repeat(4096);
        const toRoom = wsText(`42/chat,["to_room","fill","${payload}"]`);
        const toAll = wsText(`42/chat,["msg_to_server","${payload}"]`);
        /* the flooder: a well-behaved client (reads everything, answers pings)
         * in room "fill", pacing itself by its own copies: 16 in flight */
        let flooder;
        await new Promise((ready) => {
            flooder = open('a', () => {});
            const rd = new WsReader((t) => {
                if (t === '2') flooder.send(wsText('3'));
                else if (t.startsWith('43/chat,0')) ready();
                else if (t.startsWith('42/chat,["room_msg"')) s.floodEchoed++;
            });
            flooder.on('data', (c) => rd.push(c));
            flooder.on('close', () => ready());
            flooder.send(wsUpgrade('/socket.io/?EIO=4&transport=websocket'));
            flooder.send(wsText('40/chat,'));
            flooder.send(wsText('42/chat,0["join","fill"]'));
        });
        every(10, () => {
            /* at most 1,000 a second, 200,000 in all */
            for (let k = 0; k < 10; k++) {
                if (flooder.destroyed || s.floodSent >= 200000 || quiet) return;
                if (s.floodSent - s.floodEchoed >= 16) return;
                flooder.send(toRoom);
                s.floodSent++;
            }
        });
        every(5000, () => {
            if (flooder.destroyed || quiet) return;
            flooder.send(toAll);
            s.broadcasts++;
        });
        await launch(n, 128, (i) =>
            keep('a', 2, (established) => {
                const sock = open('a', established);
                const rd = new WsReader((t) => {
                    if (t.startsWith('40/chat,')) {
                        s.joined++;
                        if (i < fill) s.fillJoined++;
                        sock.pause(); /* from here on, never read */
                        sock.removeAllListeners('data');
                        nonReaders.add(sock);
                        established();
                    }
                });
                sock.on('data', (c) => rd.push(c));
                sock.on('close', () => nonReaders.delete(sock));
                sock.send(wsUpgrade('/socket.io/?EIO=4&transport=websocket'));
                sock.send(wsText('40/chat,'));
                if (i < fill) sock.send(wsText('42/chat,["join","fill"]'));
                return sock;
            })
        );
    }

    /* ---- b: polling sessions that never GET (the server reads these, and
     * they read the answers: their memory is the sessions' queues) ---- */
    async function phaseB(n) {
        const s = st('b');
        Object.assign(s, { sessions: 0, posts: 0, postsOk: 0, handshakes503: 0, codes: {} });
        const body = Buffer.from('4' + 'y'.repeat(999000 - 1));
        const code = (c) => (s.codes[c] = (s.codes[c] || 0) + 1);
        /* 1,500 POSTs (1.5 GB) per wave, a new wave every 15 s, 5 waves at most:
         * sessions that never GET live until their heartbeat runs out (45 s) */
        let budget = 1500, waves = 1;
        every(15000, () => {
            if (waves < 5) waves++, (budget = 1500);
        });
        const more = () => !released && budget > 0;
        await launch(
            n,
            32,
            (i) =>
            keep('b', 10, (established) => {
                const sock = open('b', established);
                const rd = new HttpReader();
                sock.on('data', (c) => rd.push(c));
                sock.on('close', () => rd.fail(new Error('closed')));
                (async () => {
                    /* up to 40 sessions on this connection, 20 POSTs each */
                    for (let k = 0; k < 40 && more(); k++) {
                        sock.send(
                            'GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'
                        );
                        const r = await rd.next();
                        code(r.status);
                        if (r.status === 503) s.handshakes503++;
                        established();
                        if (r.status !== 200) break;
                        const sid = JSON.parse(r.body.slice(1)).sid;
                        s.sessions++;
                        for (let j = 0; j < 20 && more(); j++) {
                            sock.send(
                                `POST /engine.io/?EIO=4&transport=polling&sid=${sid} HTTP/1.1\r\n` +
                                    `Host: 127.0.0.1\r\nContent-Type: text/plain\r\n` +
                                    `Content-Length: ${body.length}\r\n\r\n`
                            );
                            sock.send(body);
                            s.posts++;
                            budget--;
                            const p = await rd.next();
                            code(p.status);
                            if (p.status !== 200) break;
                            s.postsOk++;
                        }
                    }
                })()
                    .catch(() => {})
                    .finally(established);
                return sock;
            }, 'light'),
            () => 'light'
        );
    }

    /* ---- c: pipelined GETs of the bundle's source map, never read ---- */
    async function phaseC(n) {
        const s = st('c');
        s.requests = 0;
        const req = Buffer.from(
            'GET /socket.io/socket.io.js.map HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'.repeat(1600)
        ); /* ~100 KB: more than the server reads ahead (max_head_size + 64 KiB) */
        await launch(
            n,
            128,
            () =>
            keep('c', 2, (established) => {
                const sock = open('c', established);
                sock.pause();
                sock.on('connect', () => {
                    sock.send(req);
                    s.requests += 1600;
                    established();
                });
                return sock;
            }, 'unread'),
            () => 'unread'
        );
    }

    /* ---- d: slowloris heads and half-sent bodies ---- */
    async function phaseD(n) {
        const s = st('d');
        Object.assign(s, { trickling: 0, halfBodies: 0 });
        const trickle = new Set();
        every(1000, () => {
            for (const sock of trickle) sock.send('a');
        });
        /* a head just under max_head_size (16 KiB), then one byte a second */
        const head = Buffer.from(
            'GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
                `X-Pad: ${'p'.repeat(16000)}\r\nX-Slow: `
        );
        /* a body of 1 MB announced, all but the last 1,000 bytes sent */
        const big = Buffer.alloc(999000, 0x7a);
        const post = Buffer.from(
            'POST /socket.io/?EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA HTTP/1.1\r\n' +
                'Host: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 1000000\r\n\r\n'
        );
        await launch(
            n,
            128,
            (i) =>
            keep('d', 3, (established) => {
                const sock = open('d', established);
                sock.on('data', () => {}); /* reads the 408 / 400 */
                sock.on('connect', () => {
                    if (i % 2 === 0) {
                        sock.send(head);
                        trickle.add(sock);
                        s.trickling++;
                    } else {
                        sock.send(post);
                        sock.send(big);
                        s.halfBodies++;
                    }
                    established();
                });
                sock.on('close', () => trickle.delete(sock));
                return sock;
            }, i % 2 ? 'heavy' : 'light'),
            (i) => (i % 2 ? 'heavy' : 'light')
        );
    }

    /* ---- e: WebSocket messages that never finish, ping floods ---- */
    async function phaseE(n) {
        const s = st('e');
        Object.assign(s, { bigFrame: 0, fragments: 0, pingFlood: 0, pingsSent: 0 });
        const chunk = Buffer.alloc(99000, 0x61);
        const ping = wsHeader(9, 0); /* 6 bytes: the cheapest ping */
        const pings = Buffer.concat(Array(50000).fill(ping)); /* 300 KB */
        const kindOf = (i) => (i % 8 < 4 ? 'big' : i % 8 < 7 ? 'frag' : 'ping');
        const clsOf = (i) => (kindOf(i) === 'ping' ? 'unread' : 'heavy');
        await launch(
            n,
            128,
            (i) =>
            keep('e', 2, (established) => {
                const sock = open('e', established);
                const kind = kindOf(i);
                /* the Socket.IO server for the first two, bare Engine.IO for the third */
                sock.send(
                    wsUpgrade(
                        kind === 'ping'
                            ? '/engine.io/?EIO=4&transport=websocket'
                            : '/socket.io/?EIO=4&transport=websocket'
                    )
                );
                sock.pause();
                sock.on('connect', () => {
                    if (kind === 'big') {
                        /* one text frame of 999,990 bytes, 990,000 of them sent */
                        sock.send(wsHeader(1, 999990));
                        for (let k = 0; k < 10; k++) sock.send(chunk);
                        s.bigFrame++;
                    } else if (kind === 'frag') {
                        /* 10 fragments of 99,000 bytes, no FIN */
                        sock.send(Buffer.concat([wsHeader(1, chunk.length, false), chunk]));
                        for (let k = 1; k < 10; k++)
                            sock.send(Buffer.concat([wsHeader(0, chunk.length, false), chunk]));
                        s.fragments++;
                    } else {
                        /* 50,000 empty pings per round, 4 rounds, never reading the pongs */
                        s.pingFlood++;
                        let rounds = 0;
                        const more = () => {
                            if (rounds++ >= 4 || quiet || sock.destroyed) return;
                            s.pingsSent += 50000;
                            if (sock.send(pings)) setImmediate(more);
                            else sock.once('drain', more);
                        };
                        more();
                    }
                    established();
                });
                return sock;
            }, clsOf(i)),
            clsOf
        );
    }

    /* ---- f: namespace CONNECTs and room joins ---- */
    async function phaseF(n) {
        const s = st('f');
        Object.assign(s, {
            nspAccepted: 0,
            nspRefused: 0,
            joinAcked: 0,
            joinRefused: 0,
            disconnected: 0,
            refusalReasons: {},
        });
        const readers = new Set();
        blindPongs(readers);
        let nsp = 0;
        await launch(n, 64, (i) =>
            keep('f', 1, (established) => {
                const sock = open('f', established);
                const rd = new WsReader((t) => {
                    if (t === '2') sock.send(wsText('3'));
                    else if (t.startsWith('40/dyn-')) s.nspAccepted++;
                    else if (t.startsWith('44/')) {
                        s.nspRefused++;
                        const m = /"message":"([^"]*)"/.exec(t);
                        const why = m ? m[1] : t.slice(0, 40);
                        s.refusalReasons[why] = (s.refusalReasons[why] || 0) + 1;
                    } else if (t.startsWith('43/chat,')) {
                        if (t.includes('[true]')) s.joinAcked++;
                        else s.joinRefused++;
                    } else if (t.startsWith('41')) s.disconnected++;
                });
                sock.on('data', (c) => rd.push(c));
                readers.add(sock);
                sock.on('close', () => readers.delete(sock));
                sock.send(wsUpgrade('/socket.io/?EIO=4&transport=websocket'));
                /* 200 new dynamic namespaces and 2,000 rooms per client */
                const parts = [wsText('40/chat,')];
                for (let k = 0; k < 200; k++) parts.push(wsText(`40/dyn-${nsp++},`));
                for (let k = 0; k < 2000; k++)
                    parts.push(wsText(`42/chat,${k}["join","room-${i}-${k}"]`));
                sock.send(Buffer.concat(parts));
                sock.on('connect', established);
                return sock;
            }, 'light'),
            () => 'light'
        );
    }

    const PHASES = { a: phaseA, b: phaseB, c: phaseC, d: phaseD, e: phaseE, f: phaseF };

    process.on('message', async (m) => {
        if (m.cmd === 'run') {
            port = m.port;
            const t0 = Date.now();
            await PHASES[m.phase](m.units, m.fill).catch((e) => (st(m.phase).error = String(e)));
            st(m.phase).launchMs = Date.now() - t0;
            process.send({ ev: 'launched', phase: m.phase });
        } else if (m.cmd === 'stop') {
            stopped = true;
        } else if (m.cmd === 'quiet') {
            quiet = true;
        } else if (m.cmd === 'stats') {
            process.send({ ev: 'stats', stats, sockets: sockets.size });
        } else if (m.cmd === 'release') {
            released = true;
            for (const t of timers) clearInterval(t), clearTimeout(t);
            for (const sock of [...sockets]) sock.kill();
            for (let k = 0; k < 100 && sockets.size; k++) await sleep(50);
            process.send({ ev: 'released', left: sockets.size, stats });
            setTimeout(() => process.exit(0), 100);
        }
    });
    process.send({ ev: 'ready' });
}

/* ================================================================== main */

function readStatus(pid) {
    try {
        const t = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
        const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(t)?.[1] ?? 0);
        return { rss: kb('VmRSS') * 1024, hwm: kb('VmHWM') * 1024 };
    } catch {
        return null;
    }
}

function kernelTcpBytes() {
    try {
        const t = fs.readFileSync('/proc/net/sockstat', 'utf8');
        return Number(/^TCP:.* mem (\d+)/m.exec(t)?.[1] ?? 0) * 4096;
    } catch {
        return 0;
    }
}

function fdCount(pid) {
    try {
        return fs.readdirSync(`/proc/${pid}/fd`).length;
    } catch {
        return 0;
    }
}

const mb = (b) => (b / MB).toFixed(1);

async function startServer(opts) {
    const bin = path.join(opts.binDir, 'sio-test-server');
    if (!fs.existsSync(bin)) die(`${bin} not found (--bin-dir or SIO_BIN_DIR)`);
    /* the library's defaults for the heartbeat and connect timeout (the test
     * server's own are the conformance suites' 300/200/1000 ms); --max-connections
     * only where the program has it */
    const help = await new Promise((r) => {
        const p = spawn(bin, ['--help']);
        let out = '';
        p.stdout.on('data', (d) => (out += d));
        p.on('close', () => r(out));
        p.on('error', () => r(''));
    });
    const args = ['--port', '0', '--ping-interval', '25000', '--ping-timeout', '20000'];
    args.push('--connect-timeout', '45000');
    if (help.includes('--max-connections')) args.push('--max-connections', '20000');
    args.push(...opts.serverArgs);
    const srv = spawn(bin, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let port = 0, stderr = '';
    srv.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    srv.stdout.setEncoding('utf8');
    let disconnects = 0, early = '';
    port = await new Promise((resolve, reject) => {
        srv.stdout.on('data', (d) => {
            early += d;
            const m = /listening on (\d+)/.exec(early);
            if (m && !port) {
                port = Number(m[1]);
                resolve(port);
            }
            disconnects += (d.match(/^disconnect /gm) || []).length;
        });
        srv.on('exit', (c) => reject(new Error(`server exited ${c}: ${stderr}`)));
    });
    srv.removeAllListeners('exit');
    srv.disconnectReasons = {};
    srv.stdout.on('data', (d) => {
        for (const m of d.matchAll(/^disconnect \S+ \S+ (.+)$/gm))
            srv.disconnectReasons[m[1]] = (srv.disconnectReasons[m[1]] || 0) + 1;
    });
    return { srv, port, args, bin, stderrOf: () => stderr };
}

/* A fresh, well-behaved client after the attack: a polling handshake, and
 * a Socket.IO client in /chat whose echo is acknowledged. */
async function freshClient(port) {
    const out = {};
    try {
        const r = await fetch(`http://127.0.0.1:${port}/socket.io/?EIO=4&transport=polling`, {
            signal: AbortSignal.timeout(5000),
        });
        out.handshake = r.status;
        await r.text();
    } catch (e) {
        out.handshake = String(e);
    }
    try {
        const { io } = await import('socket.io-client');
        const sock = io(`http://127.0.0.1:${port}/chat`, { reconnection: false, timeout: 5000 });
        out.echo = await new Promise((resolve) => {
            const t = setTimeout(() => resolve('timeout'), 8000);
            sock.on('connect_error', (e) => (clearTimeout(t), resolve(`connect_error ${e.message}`)));
            sock.on('connect', () =>
                sock.emit('echo', 'still alive', (v) => {
                    clearTimeout(t);
                    resolve(v === 'still alive' ? 'ok' : `bad ${v}`);
                })
            );
        });
        sock.close();
    } catch (e) {
        out.echo = String(e);
    }
    return out;
}

async function main(opts) {
    const t0 = Date.now();
    const { srv, port, args, bin, stderrOf } = await startServer(opts);
    const pid = srv.pid;
    console.log(`server: ${bin} ${args.join(' ')} (pid ${pid}, port ${port})`);

    /* sampling */
    const samples = [];
    let phase = 'idle', capped = null, kcapped = null, killed = null;
    const workers = [];
    const sample = () => {
        const s = readStatus(pid);
        if (!s) return;
        const k = kernelTcpBytes();
        samples.push({ t: Date.now() - t0, phase, rss: s.rss, hwm: s.hwm, k });
        if (!capped && s.rss > opts.rssCapMb * MB) {
            capped = `server RSS ${mb(s.rss)} MiB in phase ${phase}`;
            console.log(`  ! RSS cap reached (${capped}): no more clients, no more data`);
            for (const w of workers) w.send({ cmd: 'stop' });
        }
        if (s.rss > opts.rssCapMb * MB * 1.5 && !killed) {
            killed = `server RSS ${mb(s.rss)} MiB: 1.5 times the cap`;
            console.log(`  ! ${killed}: SIGKILL`);
            srv.kill('SIGKILL');
        }
        if (!kcapped && k > opts.kernelCapMb * MB) {
            kcapped = `kernel TCP memory ${mb(k)} MiB in phase ${phase}`;
            console.log(`  ! kernel cap reached (${kcapped}): no more unread data (flood, non-readers)`);
            for (const w of workers) w.send({ cmd: 'quiet' });
        }
    };
    const sampler = setInterval(sample, 200);
    sample();
    await sleep(600);
    const baseline = samples.at(-1).rss;
    const fdBase = fdCount(pid);

    const rows = [];
    const afters = [];
    let rel, after, fdsAfter, clientsOpen;
    for (let round = 1; round <= opts.rounds; round++) {
        /* workers: new ones for each round */
        const waiters = [];
        workers.length = 0;
        for (let i = 0; i < 2; i++) {
            const w = fork(fileURLToPath(import.meta.url), ['--worker'], { stdio: 'inherit' });
            w.on('message', (m) => {
                const k = waiters.findIndex((x) => x.w === w && x.ev === m.ev);
                if (k >= 0) waiters.splice(k, 1)[0].resolve(m);
            });
            workers.push(w);
            if (capped) w.send({ cmd: 'stop' });
            if (kcapped) w.send({ cmd: 'quiet' });
        }
        const expect = (w, ev, ms) =>
            new Promise((resolve) => {
                const x = { w, ev, resolve };
                waiters.push(x);
                setTimeout(() => {
                    const k = waiters.indexOf(x);
                    if (k >= 0) waiters.splice(k, 1), resolve(null);
                }, ms);
            });
        await Promise.all(workers.map((w) => expect(w, 'ready', 10000)));
        const allStats = async () => {
            const r = await Promise.all(
                workers.map((w) => {
                    const p = expect(w, 'stats', 5000);
                    w.send({ cmd: 'stats' });
                    return p;
                })
            );
            return Object.assign({}, ...r.map((x) => x?.stats ?? {}));
        };

        /* phases: all rounds done within 4.5 minutes */
        const window = (name) => samples.filter((s) => s.phase === name);
        const deadline = Date.now() + (t0 + 270000 - Date.now()) / (opts.rounds - round + 1);
        for (const ph of opts.phases) {
            if (Date.now() > deadline - opts.allMs) break;
            const plan = PLAN[ph];
            const units = Math.max(1, Math.round(plan.units * opts.scale));
            phase = `${round}${ph}`;
            const ts = Date.now();
            const rssStart = samples.at(-1).rss;
            const w = workers[plan.worker];
            const done = expect(w, 'launched', 60000);
            w.send({ cmd: 'run', phase: ph, units, port, fill: opts.fill });
            console.log(`phase ${ph}: ${units} × ${plan.what}`);
            await done;
            await sleep(opts.holdMs);
            const stats = await allStats();
            const win = window(phase);
            rows.push({
                round,
                phase: ph,
                what: plan.what,
                units,
                seconds: (Date.now() - ts) / 1000,
                rssStart,
                rssEnd: samples.at(-1).rss,
                rssMax: Math.max(...win.map((s) => s.rss)),
                kMax: Math.max(...win.map((s) => s.k)),
                serverFds: fdCount(pid),
                stats: stats[ph],
            });
        }
        phase = `${round}all`;
        const tsAll = Date.now();
        const rssStartAll = samples.at(-1).rss;
        await sleep(Math.max(0, Math.min(opts.allMs, deadline - Date.now())));
        const statsAll = await allStats();
        const winAll = window(phase);
        const fdsAll = fdCount(pid);
        rows.push({
            round,
            phase: 'all',
            what: 'every attack at once, held',
            units: rows.filter((r) => r.round === round).reduce((n, r) => n + r.units, 0),
            seconds: (Date.now() - tsAll) / 1000,
            rssStart: rssStartAll,
            rssEnd: samples.at(-1).rss,
            rssMax: Math.max(...winAll.map((s) => s.rss)),
            kMax: Math.max(...winAll.map((s) => s.k)),
            serverFds: fdsAll,
        });
        clientsOpen = Object.values(statsAll).reduce((n, s) => n + s.open, 0);

        /* release */
        phase = `${round}release`;
        rel = await Promise.all(
            workers.map((w) => {
                const p = expect(w, 'released', 15000);
                w.send({ cmd: 'release' });
                return p;
            })
        );
        for (const w of workers) w.kill();
        await sleep(5000);
        after = readStatus(pid);
        fdsAfter = fdCount(pid);
        afters.push(after.rss);
        console.log(`round ${round}: RSS after the clients left ${mb(after.rss)} MiB`);
    }
    phase = 'fresh';
    const fresh = await freshClient(port);
    clearInterval(sampler);
    const final = readStatus(pid);

    /* SIGTERM */
    const exit = await new Promise((resolve) => {
        const t = setTimeout(() => {
            srv.kill('SIGKILL');
            resolve('killed after 15 s');
        }, 15000);
        srv.on('exit', (code, sig) => {
            clearTimeout(t);
            resolve(sig ? `signal ${sig}` : code);
        });
        srv.kill('SIGTERM');
    });

    /* report */
    const peak = Math.max(...samples.map((s) => s.rss));
    const peakAt = samples.find((s) => s.rss === peak);
    const hwm = final?.hwm ?? peak;
    const peakConns = Math.max(...rows.map((r) => r.serverFds)) - fdBase;
    const lines = [];
    const p = (s) => lines.push(s);
    p('');
    p(`baseline RSS ${mb(baseline)} MiB; RSS sampled every 200 ms (MiB); kernel = TCP memory of the whole machine (/proc/net/sockstat)`);
    p('| round | phase | clients | what | s | RSS start | RSS max | RSS end | max − start | kernel max | server fds |');
    p('|---|---|---|---|---|---|---|---|---|---|---|');
    for (const r of rows)
        p(
            `| ${r.round} | ${r.phase} | ${r.units} | ${r.what} | ${r.seconds.toFixed(1)} | ${mb(r.rssStart)} | ` +
                `${mb(r.rssMax)} | ${mb(r.rssEnd)} | ${mb(r.rssMax - r.rssStart)} | ${mb(r.kMax)} | ` +
                `${r.serverFds} |`
        );
    p('');
    p(`peak RSS ${mb(peak)} MiB (phase ${peakAt.phase}, t=${(peakAt.t / 1000).toFixed(1)} s); VmHWM ${mb(hwm)} MiB`);
    p(`connections open at the server at most: ~${peakConns} (its descriptors); clients open at the end of "all": ${clientsOpen}`);
    p(`per hostile connection: ${((hwm - baseline) / Math.max(1, peakConns) / 1024).toFixed(1)} KiB of VmHWM above the baseline`);
    p(`after all clients left (+5 s): RSS ${afters.map(mb).join(', then ')} MiB, server fds ${fdsAfter}`);
    p(`fresh client: polling handshake ${fresh.handshake}, /chat echo ${fresh.echo}`);
    p(`SIGTERM: exit ${exit}`);
    if (killed) p(`SERVER KILLED: ${killed}`);
    if (capped) p(`RSS CAP REACHED: ${capped}; the figures are a lower bound for that attack`);
    if (kcapped) p(`KERNEL CAP REACHED: ${kcapped}; from then on no flood and no new non-readers`);
    p(`server disconnect reasons: ${JSON.stringify(srv.disconnectReasons)}`);
    p('client-side counts per phase:');
    for (const [ph, s] of Object.entries(rel[0]?.stats ?? {}).concat(Object.entries(rel[1]?.stats ?? {})))
        p(`  ${ph}: ${JSON.stringify(s)}`);
    p(`total ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    console.log(lines.join('\n'));
    const ok = exit === 0 && fresh.handshake === 200 && fresh.echo === 'ok';
    if (opts.json)
        fs.writeFileSync(
            opts.json,
            JSON.stringify({ bin, args, baseline, peak, hwm, after, rows, fresh, exit, capped, kcapped, samples }, null, 1)
        );
    if (!ok) console.log(`FAILED: ${stderrOf()}`);
    process.exit(ok ? 0 : 1);
}

const opts = parseArgs(process.argv);
if (opts.worker) worker(opts);
else main(opts).catch((e) => die(String(e?.stack ?? e)));
