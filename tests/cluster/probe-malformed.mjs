// Re-measures the `node` column of lib/malformed.mjs against the installed
// socket.io + @socket.io/redis-adapter: for each input, a fresh Node node on a
// fresh Redis, one client in room "r", the input PUBLISHed, then: did the
// process exit, and does it still answer `count` (a fetchSockets round trip)?
// Not part of the suite (it starts ~30 nodes); run it after upgrading the npm
// packages:  node tests/cluster/probe-malformed.mjs   (exit 1 on any change)
import { io } from 'socket.io-client';
import { startRedis } from './lib/redis.mjs';
import { startNode } from './lib/nodes.mjs';
import { MALFORMED, materialize } from './lib/malformed.mjs';

const redis = await startRedis();
let changed = 0;
try {
  for (const m of MALFORMED) {
    const node = await startNode('node', { redisUrl: redis.url, id: 'probe' });
    const c = io(`${node.url}/chat`, { transports: ['websocket'], forceNew: true, reconnection: false });
    await new Promise((r) => c.once('connect', r));
    await c.timeout(2000).emitWithAck('join', 'r');
    const { channel, payload } = materialize(m);
    await redis.publish(channel, payload);
    const exited = await Promise.race([node.exited.then(() => true),
      new Promise((r) => setTimeout(() => r(false), 500))]);
    let answers = false;
    if (!exited) answers = (await c.timeout(2000).emitWithAck('count').catch(() => null)) === 1;
    const got = !exited && answers ? 'survives' : 'crashes';
    if (got !== m.node) changed++;
    const why = exited ? ` (${node.stderr().split('\n').find((l) => /Error/.test(l)) || 'exited'})` : '';
    console.log(`${got === m.node ? 'same   ' : 'CHANGED'} ${got.padEnd(8)} ${m.name}${why}`);
    c.close();
    node.child.kill('SIGKILL'); // not stop(): a crash here is expected, its stack is noise
    await node.exited;
  }
} finally {
  await redis.stop();
}
process.exit(changed ? 1 : 0);
