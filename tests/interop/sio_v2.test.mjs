// socket.io-client 2.x (Engine.IO v3, Socket.IO protocol v4) against the test
// server: it connects when the server allows EIO3 (--eio3), over every
// transport, to the main namespace implicitly and to others by CONNECT, with
// acks and binary; without --eio3 it is refused.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { startServer } from './lib/server.mjs';

const require = createRequire(import.meta.url);
const io2 = require('socket.io-client-v2');
const servers = [];
after(async () => {
  for (const s of servers) assert.equal((await s.stop()).code, 0);
});

function connect(url, transports) {
  const s = io2(url, { transports, reconnection: false, forceNew: true });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no connect')), 10000);
    s.once('connect', () => { clearTimeout(t); resolve(s); });
    s.once('connect_error', (e) => { clearTimeout(t); reject(e); });
  });
}

for (const transports of [['polling'], ['websocket'], ['polling', 'websocket']]) {
  test(`socket.io-client 2.x with --eio3 (${transports.join('+')})`, async () => {
    const srv = await startServer('sio-test-server', ['--eio3', '--ping-interval', '5000', '--ping-timeout', '5000']);
    servers.push(srv);
    const auth = new Promise((resolve) => {
      const s = io2(srv.url, { transports, reconnection: false, forceNew: true });
      s.once('auth', (a) => { s.close(); resolve(a); });
    });
    assert.deepEqual(await auth, {}, 'in the main namespace without a CONNECT of its own');
    const s = await connect(srv.url, transports);
    const acked = await new Promise((resolve) => s.emit('message-with-ack', 'a', 1, { b: [2] }, (...r) => resolve(r)));
    assert.deepEqual(acked, ['a', 1, { b: [2] }]);
    const back = await new Promise((resolve) => {
      s.once('message-back', (...a) => resolve(a));
      s.emit('message', 'hi', Buffer.from([1, 2, 3]));
    });
    assert.equal(back[0], 'hi');
    assert.deepEqual([...back[1]], [1, 2, 3]);
    const chat = await connect(`${srv.url}/chat`, transports);
    const echo = await new Promise((resolve) => chat.emit('echo', 'x', 2, (...r) => resolve(r)));
    assert.deepEqual(echo, ['x', 2]);
    chat.close();
    s.close();
  });
}

test('socket.io-client 2.x is refused without --eio3', async () => {
  const srv = await startServer('sio-test-server', []);
  servers.push(srv);
  await assert.rejects(connect(srv.url, ['polling']));
  await assert.rejects(connect(srv.url, ['websocket']));
});
