// bench/volatile-relay.mjs - how much of a volatile stream gets through under
// continuous input: 80 receivers and 2 senders in /features of a running
// sio-test-server (raw Engine.IO/Socket.IO over WebSocket, ws from npm); the
// senders emit broadcast({volatile: true}, "v", n) as fast as node sends for
// 2 s; prints how many were sent and how many each receiver got. Volatile
// packets are dropped for sockets that cannot take them right now, so the
// share delivered shows how the server's output batching treats them.
//
//   taskset -c 0 build/bench/bin/sio-test-server --port 3993 &
//   taskset -c 1 node bench/volatile-relay.mjs 3993
//
// Loopback only; ends by itself (2.5 s after the receivers have joined).
import WebSocket from 'ws';

const port = Number(process.argv[2] || 3000);
const url = `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`;
const RECEIVERS = 80;
const SENDERS = 2;
const DURATION_MS = 2000;

function open() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const c = { ws, got: 0 };
    ws.on('error', reject);
    ws.on('message', (d) => {
      const s = d.toString();
      if (s === '2') ws.send('3');
      else if (s.startsWith('0{')) ws.send('40/features,');
      else if (s.startsWith('40/features,')) resolve(c);
      else if (s.startsWith('42/features,["v"')) c.got++;
    });
  });
}

const rx = [];
for (let i = 0; i < RECEIVERS; i++) rx.push(await open());
const tx = [];
for (let i = 0; i < SENDERS; i++) tx.push(await open());
let sent = 0;
const end = Date.now() + DURATION_MS;
await new Promise((resolve) => {
  const tick = () => {
    if (Date.now() > end) return resolve();
    for (const t of tx) t.ws.send(`42/features,["broadcast",{"volatile":true},"v",${sent++}]`);
    setImmediate(tick);
  };
  tick();
});
await new Promise((r) => setTimeout(r, 500));
const got = rx.map((c) => c.got).sort((a, b) => a - b);
const share = (n) => `${((100 * n) / sent).toFixed(0)}%`;
console.log(`sent ${sent} volatile broadcasts; per receiver: min ${got[0]} (${share(got[0])}), ` +
  `median ${got[RECEIVERS >> 1]} (${share(got[RECEIVERS >> 1])}), max ${got[RECEIVERS - 1]}`);
for (const c of [...rx, ...tx]) c.ws.terminate();
process.exit(0);
