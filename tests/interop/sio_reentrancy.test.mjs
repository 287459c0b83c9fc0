// Every public call is safe from inside every callback, including calls that
// free what the callback is about. tests/helpers/sio_reentry_server.c calls
// the API (disconnect both ways, sio_disconnect, emit, join/leave,
// broadcasts, emits with ack) from its middlewares, connect and disconnect
// handlers, event handlers, ack callbacks (answered, timed out, or finished
// by the disconnection) and broadcast-ack collectors; each scenario is driven
// here with socket.io-client, then the server must still answer a fresh
// client. The server is built with ASan+UBSan in `make test`: it exits 0 on
// SIGTERM only if nothing leaked (asserted at the end).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Manager } from 'socket.io-client';
import { startServer } from './lib/server.mjs';
import { once, connect, client, closeAll, sleep } from './lib/sio.mjs';

const MODES = [
  { name: 'websocket', transports: ['websocket'] },
  { name: 'polling', transports: ['polling'] },
];

let srv;
before(async () => { srv = await startServer('sio-reentry-server'); });
after(async () => {
  const r = await srv.stop();
  assert.equal(r.code, 0, 'server exits cleanly (and leak-free under ASan) on SIGTERM');
});

// The server is alive and answers: a fresh client's ping is acknowledged.
async function alive(mode) {
  const s = await connect(srv.url, '/', mode);
  try {
    assert.equal(await s.timeout(5000).emitWithAck('ping'), 'pong');
  } finally { s.close(); }
}

async function stats(mode) {
  const s = await connect(srv.url, '/', mode);
  try { return await s.timeout(5000).emitWithAck('stats'); } finally { s.close(); }
}

// Resolves when the socket is disconnected (or already was).
function gone(s, timeoutMs = 5000) {
  if (!s.connected) return Promise.resolve();
  return once(s, 'disconnect', timeoutMs);
}

// n clients in "/r", in room "victims"; `answer`: whether they acknowledge "ask".
async function victims(mode, n, answer) {
  const list = [];
  for (let i = 0; i < n; i++) {
    const v = await connect(srv.url, '/r', mode);
    v.on('ask', (cb) => { if (answer && typeof cb === 'function') cb('ok'); });
    assert.equal(await v.timeout(5000).emitWithAck('join', 'victims'), 0);
    list.push(v);
  }
  return list;
}

// A connection with "/" and "/r" on one Manager (one client on the server).
async function pair(mode, auth = {}) {
  const m = new Manager(srv.url, { transports: mode.transports, forceNew: true, reconnection: false });
  const main = m.socket('/');
  const r = m.socket('/r', { auth });
  await Promise.all([once(main, 'connect'), once(r, 'connect')]);
  return { m, main, r, close() { closeAll(main, r); } };
}

const DISCONNECT_MODES = ['close', 'ns', 'emit', 'bcast', 'others', 'engine_close'];
const TRIGGERS = {
  // the client leaves the namespace (DISCONNECT packet)
  'client namespace disconnect': (p) => p.r.disconnect(),
  // a server-side namespace disconnect from an event handler
  'server namespace disconnect': (p) => p.r.emit('disconnect_me', false),
  // a server-side close of the whole client from an event handler
  'server close': (p) => p.r.emit('disconnect_me', true),
  // the transport goes away
  'transport close': (p) => p.m.engine.close(),
};

for (const mode of MODES) {
  describe(mode.name, () => {
    describe('disconnect handlers', () => {
      for (const dm of DISCONNECT_MODES) {
        for (const [trigger, fire] of Object.entries(TRIGGERS)) {
          test(`"${dm}" on ${trigger}`, async () => {
            const vs = (dm === 'bcast' || dm === 'others') ? await victims(mode, 3, false) : [];
            const p = await pair(mode);
            try {
              assert.equal(await p.r.timeout(5000).emitWithAck('on_disconnect', dm), true);
              const left = gone(p.r);
              fire(p);
              await left;
              if (dm === 'close' && trigger === 'client namespace disconnect') {
                // the socket was already disconnected: as in the reference, a no-op,
                // and the connection's other namespace carries on
                assert.equal(await p.main.timeout(5000).emitWithAck('ping'), 'pong');
              }
              if (dm === 'others') await Promise.all(vs.map((v) => gone(v)));
              await alive(mode);
            } finally { p.close(); closeAll(vs); }
          });
        }
      }
    });

    describe('middlewares', () => {
      test('disconnect (a no-op while joining), emit, then accept', async () => {
        const s = await connect(srv.url, '/r', mode, { auth: { mw: 'disconnect_accept' } });
        assert.ok(s.connected);
        s.close();
        await alive(mode);
      });

      for (const mw of ['join_reject', 'join_close_reject']) {
        test(`${mw}: a rejected socket leaves the rooms it joined`, async () => {
          await assert.rejects(connect(srv.url, '/r', mode, { auth: { mw } }));
          // the room must not hold the freed socket: a broadcast to it, a join and a leave
          const other = await connect(srv.url, '/r', mode);
          try {
            assert.equal(await other.timeout(5000).emitWithAck('to_room', 'mwroom'), 0);
            assert.equal(await other.timeout(5000).emitWithAck('join', 'mwroom'), 0);
            assert.equal(await other.timeout(5000).emitWithAck('to_room', 'mwroom'), 1);
          } finally { other.close(); }
          await alive(mode);
        });
      }

      for (const mw of ['later_accept', 'later_reject']) {
        test(`${mw} after the client is gone`, async () => {
          const s = client(srv.url, '/r', mode, { auth: { mw } });
          await once(s.io, 'open');
          await sleep(50);
          s.close(); // before the middleware decides (300 ms)
          await sleep(450);
          const other = await connect(srv.url, '/r', mode);
          try {
            assert.equal(await other.timeout(5000).emitWithAck('to_room', 'mwroom'), 0);
          } finally { other.close(); }
          await alive(mode);
        });
      }

      test('emit_ack: asks the joining socket and the namespace, then accepts', async () => {
        const s = await connect(srv.url, '/r', mode, { auth: { mw: 'emit_ack' } });
        await sleep(300); // the broadcast's timeout passes
        s.close();
        await alive(mode);
      });
    });

    describe('connect handlers', () => {
      for (const oc of ['disconnect', 'close', 'sio_disconnect', 'ask_close']) {
        test(`"${oc}"`, async () => {
          const s = client(srv.url, '/r', mode, { auth: { on_connect: oc } });
          s.on('ask', () => {}); // never answered
          await once(s, 'disconnect');
          s.close();
          await alive(mode);
        });
      }
    });

    describe('event handlers and ack callbacks', () => {
      for (const close of [false, true]) {
        test(`disconnect_me(${close}), then emit, join, ack, disconnect again`, async () => {
          const p = await pair(mode);
          try {
            const left = gone(p.r);
            p.r.emit('disconnect_me', close);
            await left;
            await alive(mode);
          } finally { p.close(); }
        });
      }

      for (const am of ['close', 'ns', 'again', 'emit']) {
        test(`ack callback "${am}" on an answer`, async () => {
          const s = await connect(srv.url, '/r', mode);
          s.on('ask', (cb) => cb('yes'));
          const asked = am === 'emit' ? once(s, 'asked') : gone(s);
          s.emit('ask', am, 0);
          if (am === 'emit') assert.deepEqual(await asked, [0]);
          else await asked;
          s.close();
          await alive(mode);
        });

        test(`ack callback "${am}" on a timeout`, async () => {
          const s = await connect(srv.url, '/r', mode);
          s.on('ask', () => {}); // never answered
          const asked = am === 'emit' ? once(s, 'asked') : gone(s);
          s.emit('ask', am, 100);
          if (am === 'emit') assert.deepEqual(await asked, [-30005]); // SIO_ETIMEDOUT
          else await asked;
          s.close();
          await alive(mode);
        });

        test(`ack callback "${am}" run by the disconnection, its timeout never fires`, async () => {
          const s = await connect(srv.url, '/r', mode);
          s.on('ask', () => s.close()); // leaves instead of answering
          s.emit('ask', am, 300);
          await gone(s);
          await sleep(500); // past the ack's deadline
          await alive(mode);
        });
      }

      test('take_ack_close: a kept ack answered after its client is closed', async () => {
        const s = await connect(srv.url, '/r', mode);
        const left = gone(s);
        s.emit('take_ack_close', () => assert.fail('no answer expected'));
        await left;
        await alive(mode);
      });

      test('fetch_disconnect: each fetched socket closed with its client', async () => {
        const vs = await victims(mode, 3, false);
        const s = await connect(srv.url, '/r', mode);
        try {
          s.emit('fetch_disconnect');
          await Promise.all(vs.map((v) => gone(v)));
          await alive(mode);
        } finally { s.close(); closeAll(vs); }
      });
    });

    describe('broadcast-with-ack collectors', () => {
      for (const cm of ['disconnect_all', 'again', 'emit']) {
        for (const answer of [true, false]) {
          test(`collector "${cm}", victims ${answer ? 'answer' : 'stay silent (timeout)'}`, async () => {
            const vs = await victims(mode, 3, answer);
            const s = await connect(srv.url, '/r', mode);
            try {
              const done = cm === 'emit' ? Promise.all(vs.map((v) => once(v, 'collected')))
                : Promise.all(vs.map((v) => gone(v)));
              s.emit('bcast_ack', cm, 200);
              await done;
              await sleep(300); // a second collector's timeout, if any
              await alive(mode);
            } finally { s.close(); closeAll(vs); }
          });
        }
      }
    });
  });
}

test('the acknowledgement callbacks ran, each once, and the server is still sound', async () => {
  const st = await stats(MODES[0]);
  assert.ok(st.acks.ok > 0 && st.acks.timedout > 0 && st.acks.closed > 0, JSON.stringify(st));
  assert.ok(st.collectors.ok > 0 && st.collectors.timedout > 0, JSON.stringify(st));
  await alive(MODES[0]);
});
