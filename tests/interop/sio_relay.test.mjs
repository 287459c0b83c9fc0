// Relays that forward a received event's arguments as they came
// (sio_emit_args, sio_broadcast_emit_args): binary attachments go along, over
// every transport, and the JSON arguments arrive unchanged.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import { startServer } from './lib/server.mjs';

let srv;
before(async () => { srv = await startServer('sio-test-server', ['--ping-interval', '5000', '--ping-timeout', '5000']); });
after(async () => { assert.equal((await srv.stop()).code, 0); });

const connect = (nsp, transports) => new Promise((resolve, reject) => {
  const s = io(`${srv.url}${nsp}`, { transports, reconnection: false });
  s.once('connect', () => resolve(s));
  s.once('connect_error', reject);
});

for (const transports of [['polling'], ['websocket'], ['polling', 'websocket']]) {
  test(`binary relayed to every /chat socket (${transports.join('+')})`, async () => {
    const [a, b] = await Promise.all([connect('/chat', transports), connect('/chat', transports)]);
    const got = [a, b].map((s) => new Promise((r) => s.once('msg_to_client', (...args) => r(args))));
    const payload = { file: Buffer.from([0, 1, 2, 255]), meta: { name: 'é', n: [1, 2] } };
    a.emit('msg_to_server', payload, Buffer.from('tail'), 'text');
    for (const args of await Promise.all(got)) {
      assert.equal(args.length, 3);
      assert.deepEqual([...args[0].file], [0, 1, 2, 255]);
      assert.deepEqual(args[0].meta, { name: 'é', n: [1, 2] });
      assert.equal(Buffer.from(args[1]).toString(), 'tail');
      assert.equal(args[2], 'text');
    }
    const back = await new Promise((resolve) => {
      connect('/', transports).then((m) => {
        m.once('message-back', (...args) => { m.close(); resolve(args); });
        m.emit('message', Buffer.from([7]), { deep: [Buffer.from([8, 9])] });
      });
    });
    assert.deepEqual([...back[0]], [7]);
    assert.deepEqual([...back[1].deep[0]], [8, 9]);
    a.close();
    b.close();
  });
}
