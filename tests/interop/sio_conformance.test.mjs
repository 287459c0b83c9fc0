// Socket.IO v5 conformance, packet by packet, written from the protocol
// document (docs/socket.io-protocol/v5-current.md of socketio/socket.io) and
// its examples, over a raw HTTP long-polling client and a raw WebSocket
// (lib/rawsio.mjs): nothing here goes through a Socket.IO client library.
// Each Engine.IO message below starts with "4" (message), then the
// Socket.IO packet: <type>[<attachments>-][<nsp>,][<id>][<JSON>].
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { RAW } from './lib/rawsio.mjs';
import { serverReason, sleep } from './lib/sio.mjs';

let srv;
before(async () => { srv = await startServer('sio-test-server', ['--ping-interval', '1000', '--ping-timeout', '1000']); });
after(async () => {
  const r = await srv.stop();
  assert.equal(r.code, 0, 'server exits cleanly (and leak-free under ASan) on SIGTERM');
});

const SID = '[A-Za-z0-9_-]{20}';
const PH = (n) => `{"_placeholder":true,"num":${n}}`;

// Reads packets until one matches `re` (skipping those `skip` matches), returns its match.
async function expectPacket(c, re, { skip = null, timeoutMs = 5000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const p = await c.next(Math.max(1, deadline - Date.now()));
    if (typeof p === 'string') {
      const m = re.exec(p);
      if (m) return m;
      if (skip && skip.test(p)) continue;
    }
    assert.fail(`expected ${re}, got ${Buffer.isBuffer(p) ? `<binary ${p.toString('hex')}>` : JSON.stringify(p)}`);
  }
}

async function expectBinary(c, hex) {
  const p = await c.next();
  assert.ok(Buffer.isBuffer(p), `expected a binary attachment, got ${JSON.stringify(p)}`);
  assert.equal(p.toString('hex'), hex);
}

// CONNECT to nsp (optional auth JSON text); returns the socket id. The test
// server greets "/" and "/custom" with "auth" and "/features" with "welcome".
async function join(c, nsp = '/', auth = '') {
  const prefix = nsp === '/' ? '' : `${nsp},`;
  await c.send(`40${prefix}${auth}`);
  const [, sid] = await expectPacket(c, new RegExp(`^40${prefix.replace(/[/]/g, '\\/')}\\{"sid":"(${SID})"\\}$`));
  const greeting = nsp === '/features' ? 'welcome' : 'auth';
  if (nsp === '/' || nsp === '/custom' || nsp === '/features')
    await expectPacket(c, new RegExp(`^42${prefix.replace(/[/]/g, '\\/')}\\["${greeting}",`));
  return sid;
}

// Waits (bounded) for the server to end the session; returns how it ended.
async function expectClosed(c) {
  return c.closed(5000);
}

for (const t of RAW) {
  describe(`raw ${t.name}`, () => {
    test('handshake: the Engine.IO open packet', async () => {
      const c = await t.open(srv.url);
      try {
        assert.match(c.sid, new RegExp(`^${SID}$`));
        assert.equal(c.handshake.pingInterval, 1000);
        assert.equal(c.handshake.pingTimeout, 1000);
        assert.equal(c.handshake.maxPayload, 1000000);
        assert.deepEqual(c.handshake.upgrades, t.name === 'polling' ? ['websocket'] : []);
      } finally { c.close(); }
    });

    test('CONNECT to the main namespace: 0 -> 0{"sid":...}', async () => {
      const c = await t.open(srv.url);
      try {
        await c.send('40');
        const [, sid] = await expectPacket(c, new RegExp(`^40\\{"sid":"(${SID})"\\}$`));
        assert.notEqual(sid, c.sid, 'the Socket.IO id is not the Engine.IO id');
        assert.equal((await c.next()), '42["auth",{}]', 'the server emits right after the CONNECT answer');
      } finally { c.close(); }
    });

    test('CONNECT to a custom namespace, with and without a payload: 0/admin,{...} -> 0/admin,{"sid":...}', async () => {
      const c = await t.open(srv.url);
      try {
        await c.send('40/custom,');
        await expectPacket(c, new RegExp(`^40/custom,\\{"sid":"${SID}"\\}$`));
        assert.equal(await c.next(), '42/custom,["auth",{}]');
        // the same namespace again on another session, with an auth payload (the spec's {"token":"123"})
        const c2 = await t.open(srv.url);
        try {
          await c2.send('40/custom,{"token":"123"}');
          await expectPacket(c2, new RegExp(`^40/custom,\\{"sid":"${SID}"\\}$`));
          assert.equal(await c2.next(), '42/custom,["auth",{"token":"123"}]');
        } finally { c2.close(); }
        // and the main namespace on the first session too: one session, several namespaces
        await c.send('40{"a":[1,{"b":"ü"}]}');
        await expectPacket(c, new RegExp(`^40\\{"sid":"${SID}"\\}$`));
        assert.equal(await c.next(), '42["auth",{"a":[1,{"b":"ü"}]}]');
        // a CONNECT without the trailing comma is the same namespace (the parser reads up to the end)
        const c3 = await t.open(srv.url);
        try {
          await c3.send('40/custom');
          await expectPacket(c3, new RegExp(`^40/custom,\\{"sid":"${SID}"\\}$`));
        } finally { c3.close(); }
      } finally { c.close(); }
    });

    test('CONNECT_ERROR: unknown namespace, and a middleware refusal with data', async () => {
      const c = await t.open(srv.url);
      try {
        await c.send('40/admin,');
        assert.equal(await c.next(), '44/admin,{"message":"Invalid namespace"}');
        await c.send('40/features,{"token":"bad"}');
        assert.equal(await c.next(), '44/features,{"message":"not authorized","data":{"reason":"token"}}');
        await c.send('40/features,{"token":"late"}');
        assert.equal(await c.next(), '44/features,{"message":"refused late"}');
        // the session survives a refusal: the same namespace, now accepted
        await join(c, '/features', '{"token":"good"}');
      } finally { c.close(); }
    });

    test('EVENT: 2["foo"] in the main and a custom namespace', async () => {
      const c = await t.open(srv.url);
      try {
        await join(c, '/');
        await c.send('42["message","foo",1,{"x":[true,null]}]');
        assert.equal(await c.next(), '42["message-back","foo",1,{"x":[true,null]}]');
        await join(c, '/features');
        await c.send('42/features,["bar"]');
        assert.equal(await c.next(), '42/features,["any","bar"]', 'the catch-all answers in /features');
        // a numeric event name is accepted (as the reference parser does)
        await c.send('42/features,[42,"x"]');
        assert.equal(await c.next(), '42/features,["any","42","x"]');
        // several packets in one POST / several frames in a row keep their order
        await c.send('42["message",1]', '42["message",2]', '42["message",3]');
        for (const i of [1, 2, 3]) assert.equal(await c.next(), `42["message-back",${i}]`);
      } finally { c.close(); }
    });

    test('EVENT with an ack id and the ACK: 212["foo"] -> 312[...]; 3/admin,13["bar"]', async () => {
      const c = await t.open(srv.url);
      try {
        await join(c, '/');
        await c.send('4212["message-with-ack","foo"]');
        assert.equal(await c.next(), '4312["foo"]');
        await c.send('420["message-with-ack"]');
        assert.equal(await c.next(), '430[]', 'an empty acknowledgement, ack id 0');
        await join(c, '/features');
        await c.send('42/features,13["bar"]');
        assert.equal(await c.next(), '42/features,["any","bar"]');
        assert.equal(await c.next(), '43/features,13["bar"]');
        // the server asks (its own ack id), the client answers with ACK 3/features,<id>[...]
        await c.send('42/features,7["ask","question",2000,"a",1]');
        const [, id] = await expectPacket(c, /^42\/features,(\d+)\["question","a",1\]$/);
        await c.send(`43/features,${id}["bar",{"n":2}]`);
        assert.equal(await c.next(), '43/features,7[{"err":null,"args":["bar",{"n":2}]}]');
        // an ACK with an id the server does not wait for is ignored
        await c.send('43/features,999999["stray"]');
        await c.send('42/features,["still-there"]');
        assert.equal(await c.next(), '42/features,["any","still-there"]');
      } finally { c.close(); }
    });

    test('BINARY_EVENT: 51-["baz",<placeholder>] + <01 02 03 04>, and two attachments in /features', async () => {
      const c = await t.open(srv.url);
      try {
        await join(c, '/');
        await c.send(`451-["message","baz",${PH(0)}]`, Buffer.from([1, 2, 3, 4]));
        assert.equal(await c.next(), `451-["message-back","baz",${PH(0)}]`);
        await expectBinary(c, '01020304');
        await join(c, '/features');
        await c.send(`452-/features,["baz",${PH(0)},${PH(1)}]`, Buffer.from([1, 2]), Buffer.from([3, 4]));
        assert.equal(await c.next(), `452-/features,["any","baz",${PH(0)},${PH(1)}]`);
        await expectBinary(c, '0102');
        await expectBinary(c, '0304');
        // placeholders may come in any order and nested; the attachments follow their num
        await c.send(`452-["message",{"a":[${PH(1)}]},${PH(0)}]`, Buffer.from([0xaa]), Buffer.from([0xbb]));
        const p = await c.next();
        assert.match(p, /^452-\["message-back",\{"a":\[\{"_placeholder":true,"num":(\d)\}\]\},\{"_placeholder":true,"num":(\d)\}\]$/);
        const [, first, second] = /num":(\d).*num":(\d)/.exec(p);
        const bins = [await c.next(), await c.next()];
        assert.equal(bins[Number(first)].toString('hex'), 'bb');
        assert.equal(bins[Number(second)].toString('hex'), 'aa');
        // an empty attachment
        await c.send(`451-["message",${PH(0)}]`, Buffer.alloc(0));
        assert.equal(await c.next(), `451-["message-back",${PH(0)}]`);
        await expectBinary(c, '');
      } finally { c.close(); }
    });

    test('BINARY_ACK both ways: 61-15["bar",<placeholder>] + attachment', async () => {
      const c = await t.open(srv.url);
      try {
        await join(c, '/');
        await c.send(`451-15["message-with-ack","bar",${PH(0)}]`, Buffer.from([1, 2, 3, 4]));
        assert.equal(await c.next(), `461-15["bar",${PH(0)}]`);
        await expectBinary(c, '01020304');
        // the client's BINARY_ACK to a question of the server
        await join(c, '/features');
        await c.send('42/features,3["ask","q",2000]');
        const [, id] = await expectPacket(c, /^42\/features,(\d+)\["q"\]$/);
        await c.send(`461-/features,${id}["bar",${PH(0)}]`, Buffer.from([9, 8, 7]));
        assert.equal(await c.next(), `461-/features,3[{"err":null,"args":["bar",${PH(0)}]}]`);
        await expectBinary(c, '090807');
      } finally { c.close(); }
    });

    test('DISCONNECT: 1/admin, leaves one namespace, the session stays', async () => {
      const c = await t.open(srv.url);
      try {
        const msid = await join(c, '/');
        const fsid = await join(c, '/features');
        await c.send('41/features,');
        assert.equal(await serverReason(srv, fsid), 'client namespace disconnect');
        await c.send('42["message","still"]');
        assert.equal(await c.next(), '42["message-back","still"]');
        // and the main namespace: "1"; /features (joined again) goes on
        const fsid2 = await join(c, '/features');
        await c.send('41');
        assert.equal(await serverReason(srv, msid), 'client namespace disconnect');
        await c.send('42/features,["x"]');
        assert.equal(await c.next(), '42/features,["any","x"]', 'the other namespace still works');
        await c.send('41/features,');
        assert.equal(await serverReason(srv, fsid2), 'client namespace disconnect');
      } finally { c.close(); }
    });

    test('the server disconnects a socket: 1/features, is sent, the session stays', async () => {
      const c = await t.open(srv.url);
      try {
        await join(c, '/');
        const fsid = await join(c, '/features');
        await c.send('42/features,["disconnect_me",false]');
        assert.equal(await c.next(), '41/features,');
        assert.equal(await serverReason(srv, fsid), 'server namespace disconnect');
        await c.send('42["message","alive"]');
        assert.equal(await c.next(), '42["message-back","alive"]');
        // with the transport: a DISCONNECT for every namespace, then the session ends
        await join(c, '/features');
        await c.send('42/features,["disconnect_me",true]');
        const got = [await c.next(), await c.next()].sort();
        assert.deepEqual(got, ['41', '41/features,']);
        await expectClosed(c);
      } finally { c.close(); }
    });

    if (t.name === 'polling') {
      test('a polling session closed by the server while no GET waits: the next GET drains it, later ones find nothing', async () => {
        const c = await t.open(srv.url);
        try {
          await join(c, '/');
          await c.send('40/features,');
          // (no GET is waiting while the POSTs are handled)
          await c.send('42["message","x"]', '42/features,["disconnect_me",true]');
          const got = [];
          for (;;) {
            const p = await c.next();
            if (p === '1') break;
            if (typeof p === 'string') got.push(p);
          }
          assert.ok(got.includes('41') && got.includes('41/features,'), `DISCONNECT for both namespaces, got ${got}`);
          assert.ok(got.includes('42["message-back","x"]'), 'and what was queued before');
          const r = await fetch(c.url);
          assert.equal(r.status, 400);
          assert.deepEqual(await r.json(), { code: 1, message: 'Session ID unknown' });
        } finally { c.close(); }
        // a client that never comes back: the session is dropped after pingInterval + pingTimeout
        const gone = await t.open(srv.url);
        await gone.send('40');
        await gone.send('42["disconnect_me",true]'); // "/" has no such event: nothing happens
        await gone.send('40/features,', '42/features,["disconnect_me",true]');
        await sleep(2300);
        const r = await fetch(gone.url);
        assert.equal(r.status, 400, 'the drained session expired');
        gone.close();
      });
    }

    const INVALID = [
      ['an unknown packet type', ['47']],
      ['a packet type that is not a digit', ['4x["message"]']],
      ['bad JSON', ['42["message",']],
      ['bad JSON after the name', ['42["message",{"a":}]']],
      ['trailing garbage', ['42["message"]x']],
      ['an EVENT without payload', ['42']],
      ['an EVENT with an empty array', ['42[]']],
      ['an EVENT with an object', ['42{"a":1}']],
      ['an EVENT whose name is an object', ['42[{"a":1}]']],
      ['a reserved event name: connect', ['42["connect"]']],
      ['a reserved event name: disconnecting', ['42["disconnecting",1]']],
      ['a DISCONNECT with a payload', ['41{"a":1}']],
      ['a CONNECT with a string payload', ['40/custom,"token"']],
      ['a CONNECT_ERROR from the client', ['44{"message":"x"}']],
      ['an ACK with an object', ['431{"a":1}']],
      ['too many attachments (11 > 10)', [`411-["message",${PH(0)}]`]],
      ['an attachment count of 0', [`450-["message"]`]],
      ['a placeholder num out of range', [`451-["message",${PH(1)}]`, Buffer.from([1])]],
      ['a placeholder with a bad num', [`451-["message",{"_placeholder":true,"num":"0"}]`, Buffer.from([1])]],
      ['a binary message without a BINARY packet', [Buffer.from([1, 2, 3])]],
      ['a text packet while attachments are awaited', [`452-["message",${PH(0)},${PH(1)}]`, Buffer.from([1]), '42["message"]']],
      ['invalid UTF-8 escapes in JSON', ['42["message","\\ud800"]', '42["message","\\x"]']],
    ];
    for (const [what, packets] of INVALID) {
      test(`an invalid packet closes the client ("parse error"): ${what}`, async () => {
        const c = await t.open(srv.url);
        try {
          const sid = await join(c, '/');
          for (const p of packets) await c.send(p);
          const how = await expectClosed(c);
          assert.ok(how, `the session ended (${how})`);
          assert.equal(await serverReason(srv, sid), 'parse error');
        } finally { c.close(); }
      });
    }

    // The reference server closes the whole client ("invalid state") when a
    // packet names a namespace the client is not in, or CONNECTs to one it is
    // in; its sockets elsewhere disconnect with "forced server close". Other
    // clients go on.
    const NOT_JOINED = [
      ['an EVENT for a namespace never joined', ['42/custom,["message","x"]']],
      ['an EVENT for a namespace that does not exist', ['42/nope,["message","x"]']],
      ['an ACK for a namespace never joined', ['43/custom,1["x"]']],
      ['a DISCONNECT for a namespace never joined', ['41/custom,']],
      ['a BINARY_EVENT for a namespace never joined', [`451-/custom,["message",${PH(0)}]`, Buffer.from([1])]],
      ['a BINARY_ACK for a namespace never joined', [`461-/custom,1[${PH(0)}]`, Buffer.from([1])]],
      ['an EVENT for a namespace just left', ['40/custom,', '41/custom,', '42/custom,["message","x"]']],
      ['an EVENT while its CONNECT waits on a middleware', ['40/features,{"token":"slow"}', '42/features,["x"]']],
      ['a second CONNECT to a namespace joined', ['40/custom,', '40/custom,']],
      ['a second CONNECT while the first waits on a middleware', ['40/features,{"token":"slow"}', '40/features,{"token":"slow"}']],
    ];
    for (const [what, packets] of NOT_JOINED) {
      test(`a packet for a namespace not joined closes that client ("forced server close"): ${what}`, async () => {
        const other = await t.open(srv.url);
        const c = await t.open(srv.url);
        try {
          const otherSid = await join(other, '/');
          await join(other, '/custom');
          const sid = await join(c, '/');
          for (const p of packets) await c.send(p);
          const how = await expectClosed(c);
          assert.ok(how, `the session ended (${how})`);
          assert.equal(await serverReason(srv, sid), 'forced server close');
          // the other client, in the same namespaces, is untouched
          await other.send('42["message","still here"]');
          assert.equal(await other.next(), '42["message-back","still here"]');
          const r = await fetch(`${srv.url}/test/disconnect-reason?sid=${otherSid}`);
          assert.equal(r.status, 404, 'the other socket was not disconnected');
        } finally { c.close(); other.close(); }
      });
    }

    test('packets over several POSTs / frames: attachments may arrive separately', async () => {
      const c = await t.open(srv.url);
      try {
        await join(c, '/');
        await c.send(`453-["message",${PH(0)},${PH(1)},${PH(2)}]`);
        await c.send(Buffer.from([1]));
        await c.send(Buffer.from([2]), Buffer.from([3]));
        assert.equal(await c.next(), `453-["message-back",${PH(0)},${PH(1)},${PH(2)}]`);
        for (const h of ['01', '02', '03']) await expectBinary(c, h);
      } finally { c.close(); }
    });

    test('a DISCONNECT while an asynchronous middleware decides: no CONNECT answer comes later', async () => {
      const c = await t.open(srv.url);
      try {
        await join(c, '/');
        await c.send('40/features,{"token":"slow"}');
        await c.send('41/features,');
        await sleep(250); // the middleware accepts after 100 ms, for a socket that is gone
        await c.send('42["message","after"]');
        assert.equal(await c.next(), '42["message-back","after"]', 'nothing for /features in between');
        // and the namespace can be joined again
        await join(c, '/features', '{"token":"slow"}');
      } finally { c.close(); }
    });

    test('a CONNECT with an ack id is accepted (the id is ignored)', async () => {
      const c = await t.open(srv.url);
      try {
        const sid = await join(c, '/custom');
        await c.send('40/dyn-7,5');
        const [, sid2] = await expectPacket(c, new RegExp(`^40/dyn-7,\\{"sid":"(${SID})"\\}$`));
        assert.notEqual(sid2, sid);
        assert.equal(await c.next(), '42/dyn-7,["nsp","/dyn-7"]');
      } finally { c.close(); }
    });
  });
}
