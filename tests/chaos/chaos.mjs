#!/usr/bin/env node
// The chaos test (issue 12, "closing the class"): a seeded random mix of real
// clients against sio-test-server, chaos-server and sio-chat, built with
// ASan+UBSan in the test build. For each server in turn:
//
//   1. start it; a short warm-up round of chaos, then its RSS as the baseline
//   2. SIO_CHAOS_SECONDS (shared among the servers) of chaos: up to
//      SIO_CHAOS_CLIENTS actors at a time (official client, raw WebSocket,
//      raw polling, raw TCP; see clients.mjs), and now and then a room of
//      >= 100 WebSocket clients flooded by one sender while its members leave
//      one by one (FIN, RST, close frame)
//   3. every client gone: the RSS must be back within a bound of the
//      baseline, a fresh client must connect and get an answer
//   4. SIGTERM: exit code 0 (LeakSanitizer runs at exit)
// All along, the server's stderr is scanned for sanitizer reports and failed
// assertions, and a probe checks that it still answers (a hung loop fails).
//
// Environment:
//   SIO_CHAOS_SEED=N        replay a run (printed at the start of every run)
//   SIO_CHAOS_SECONDS=S     chaos time over all servers (default 45; with starting,
//                           draining and stopping each server the run takes ~80 s)
//   SIO_CHAOS_TARGETS=a,b   only these servers (test-server, chaos, chat)
//   SIO_CHAOS_CLIENTS=N     actors at a time (default 40)
//   SIO_CHAOS_SKIP=op,...   chaos-server ops not to generate (e.g. on_disconnect;
//                           mw: no ops inside middlewares; close: no op closes a
//                           whole client; flood: no flooded room)
//   SIO_CHAOS_RSS_SLACK_MB  the RSS bound above the baseline (default 64)
//   SIO_CHAOS_DRAIN_MS      the wait for the server to drop what the clients left
//                           before the RSS is read (default per server: 2.5-3 s)
// The random choices replay exactly for a seed; the timing between the
// server and the clients does not, so a failure found by a seed is likely,
// not certain, to come back with it.
import { spawnSync } from 'node:child_process';
import { ActionLog, Rng, probe, rssKiB, sleep, startServer } from './lib.mjs';
import { flood, rawPollActor, rawTcpActor, rawWsActor, sioActor } from './clients.mjs';
import { chaosServer, chat, testServer } from './targets.mjs';

const env = process.env;
const seed = env.SIO_CHAOS_SEED ? Number(env.SIO_CHAOS_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
const totalSeconds = Number(env.SIO_CHAOS_SECONDS || 45);
const concurrency = Number(env.SIO_CHAOS_CLIENTS || 40);
const slackKiB = Number(env.SIO_CHAOS_RSS_SLACK_MB || 64) * 1024;
const skip = new Set((env.SIO_CHAOS_SKIP || '').split(',').filter(Boolean));
const ACTOR_LIMIT_MS = 12000;
const drainMs = (target) => Number(env.SIO_CHAOS_DRAIN_MS || target.drainMs);

const TARGETS = {
  'test-server': { share: 0.4, make: () => testServer },
  chaos: { share: 0.4, make: () => chaosServer(skip) },
  chat: { share: 0.2, make: () => chat },
};
const chosen = env.SIO_CHAOS_TARGETS ? env.SIO_CHAOS_TARGETS.split(',') : Object.keys(TARGETS);
for (const t of chosen) if (!TARGETS[t]) { console.error(`unknown target ${t}`); process.exit(2); }
const shareSum = chosen.reduce((s, t) => s + TARGETS[t].share, 0);

console.log(`chaos: seed ${seed} (replay: SIO_CHAOS_SEED=${seed} SIO_CHAOS_SECONDS=${totalSeconds}` +
  `${env.SIO_CHAOS_TARGETS ? ` SIO_CHAOS_TARGETS=${env.SIO_CHAOS_TARGETS}` : ''}` +
  `${env.SIO_CHAOS_SKIP ? ` SIO_CHAOS_SKIP=${env.SIO_CHAOS_SKIP}` : ''} node tests/chaos/chaos.mjs)`);

// a client library's stray error must not end the run (the servers are judged, not the clients)
let strays = 0;
process.on('uncaughtException', (e) => { if (strays++ < 5) console.error(`chaos: client-side exception (ignored): ${e && e.stack}`); });
process.on('unhandledRejection', (e) => { if (strays++ < 5) console.error(`chaos: client-side rejection (ignored): ${e && e.stack}`); });

const ACTORS = { sio: sioActor, rawWs: rawWsActor, rawPoll: rawPollActor, rawTcp: rawTcpActor };
const WEIGHTS = { sio: 5, rawWs: 3, rawPoll: 3, rawTcp: 2 };

// Runs actors for `ms`: `concurrency` at a time, floods now and then (one at
// a time, the first early). Returns when every actor is done or cut off.
async function chaos(target, srv, rng, ms, log, state, { floods = true } = {}) {
  const end = Date.now() + ms;
  const running = new Set();
  const counts = {};
  let n = 0;
  let floodRunning = null;
  let nextFloodAt = Date.now() + rng.range(200, 1500);
  const stopped = () => state.failed || Date.now() > end + 5000;
  const start = (kind, fn) => {
    const id = ++n;
    const actorRng = rng.fork();
    const bag = new Set();
    const ctx = {
      rng: actorRng, profile: target, url: srv.url, port: srv.port, bag, stopped,
      log: (line) => log.add(`#${id} ${line}`),
    };
    counts[kind] = (counts[kind] || 0) + 1;
    let timer;
    let cutOff;
    const limit = kind === 'flood' ? 30000 : ACTOR_LIMIT_MS;
    const p = Promise.race([
      fn(ctx).catch((e) => ctx.log(`${kind}: ${e.message}`)),
      new Promise((r) => {
        cutOff = (why) => { ctx.log(`${kind}: cut off ${why}`); r(); };
        timer = setTimeout(() => cutOff(`at ${limit} ms`), limit);
      }),
    ]).finally(() => {
      clearTimeout(timer);
      for (const f of bag) { try { f(); } catch { /* gone */ } }
      running.delete(entry);
    });
    const entry = { p, cut: () => cutOff('at the end of the round') };
    running.add(entry);
    return p;
  };
  while (Date.now() < end && !state.failed) {
    if (floods && !skip.has('flood') && !floodRunning && Date.now() >= nextFloodAt) {
      floodRunning = start('flood', (ctx) => flood(ctx, target.flood(ctx.rng))).finally(() => {
        floodRunning = null;
        nextFloodAt = Date.now() + rng.range(500, 5000);
      });
    }
    while (running.size - (floodRunning ? 1 : 0) < concurrency) {
      const kind = rng.weighted(WEIGHTS);
      start(kind, ACTORS[kind]);
    }
    await sleep(rng.range(5, 50));
  }
  // a few seconds to finish what they were doing, then the rest are cut off
  await Promise.race([Promise.all([...running].map((e) => e.p)), sleep(3000)]);
  for (const e of running) e.cut();
  await Promise.all([...running].map((e) => e.p));
  return counts;
}

// Watches the server while chaos runs: a crash, a sanitizer report or a loop
// that stopped answering ends the round at once.
function watch(srv, state, name) {
  let misses = 0;
  let busy = false;
  const timer = setInterval(async () => {
    if (state.failed) return;
    if (srv.report) { state.fail(`${name}: sanitizer report or failed assertion on stderr`); return; }
    if (!srv.alive()) { state.fail(`${name}: exited during the run (${JSON.stringify(srv.exit)})`); return; }
    if (busy) return;
    busy = true;
    const ok = await probe(srv.url, 15000);
    busy = false;
    misses = ok ? 0 : misses + 1;
    if (misses >= 2 && !state.failed) {
      state.fail(`${name}: stopped answering (two handshakes of 15 s went unanswered: a hung loop?)`);
      state.stack = stackOf(srv.pid);
    }
  }, 1000);
  return () => clearInterval(timer);
}

// Where a hung server is, when gdb is there to ask.
function stackOf(pid) {
  const r = spawnSync('gdb', ['-p', String(pid), '-batch', '-ex', 'bt 40'], { encoding: 'utf8', timeout: 60000 });
  if (r.error) return `(no stack: ${r.error.message})`;
  return (r.stdout || '').split('\n').filter((l) => /^#\d/.test(l)).join('\n') || r.stderr.slice(-2000);
}

async function minRss(pid, samples = 3) {
  let min = Infinity;
  for (let i = 0; i < samples; i++) {
    min = Math.min(min, rssKiB(pid));
    await sleep(300);
  }
  return min;
}

async function runTarget(key, seconds, rng) {
  const target = TARGETS[key].make();
  const log = new ActionLog();
  const failures = [];
  const state = { failed: false, fail: (why) => { if (!state.failed) console.log(`chaos: FAIL ${why}`); state.failed = true; failures.push(why); } };
  // a small ASan quarantine keeps the RSS figures meaningful; a use after free
  // is still caught while the block sits in it (the chaos churns it quickly)
  const asan = env.ASAN_OPTIONS ? `${env.ASAN_OPTIONS}:` : '';
  const srv = await startServer(target.bin, target.args, { env: { ASAN_OPTIONS: `${asan}quarantine_size_mb=32` } });
  console.log(`chaos: ${target.name} on port ${srv.port} (pid ${srv.pid}), ${seconds.toFixed(1)} s`);
  const unwatch = watch(srv, state, target.name);
  const t0 = Date.now();
  let counts = {};
  try {
    const warmMs = Math.max(4000, seconds * 200);
    await chaos(target, srv, rng.fork(), warmMs, log, state);
    if (state.failed) throw new Error('failed during the warm-up');
    await sleep(drainMs(target));
    const base = await minRss(srv.pid);
    console.log(`chaos: ${target.name}: baseline RSS ${(base / 1024).toFixed(1)} MiB after a ${(warmMs / 1000).toFixed(1)} s warm-up`);
    counts = await chaos(target, srv, rng.fork(), Math.max(1000, seconds * 1000 - warmMs), log, state);
    const peakish = rssKiB(srv.pid);
    if (!state.failed) {
      await sleep(drainMs(target));
      const after = await minRss(srv.pid);
      console.log(`chaos: ${target.name}: actors ${JSON.stringify(counts)}; RSS at the end of chaos ${(peakish / 1024).toFixed(1)} MiB, ` +
        `after the clients left ${(after / 1024).toFixed(1)} MiB (bound ${((base + slackKiB) / 1024).toFixed(1)})`);
      if (!(after <= base + slackKiB)) state.fail(`${target.name}: RSS ${(after / 1024).toFixed(1)} MiB after the clients left, baseline ${(base / 1024).toFixed(1)} MiB + ${slackKiB / 1024} MiB`);
    }
    if (!state.failed) {
      try {
        await target.alive(srv.url);
      } catch (e) {
        state.fail(`${target.name}: not answering a fresh client at the end: ${e.message}`);
      }
    }
  } catch (e) {
    if (!state.failed) state.fail(`${target.name}: the test itself failed: ${e.stack}`);
  } finally {
    unwatch();
  }
  const stopMs = state.stack ? 10000 : 30000;
  const r = await srv.stop(stopMs);
  if (r.killed) failures.push(`${target.name}: did not exit within ${stopMs / 1000} s of SIGTERM (hung), killed`);
  else if (r.code !== 0) failures.push(`${target.name}: exit ${r.code ?? r.signal} at SIGTERM (0 expected: a leak, a crash or an abort)`);
  if (srv.report) failures.push(`${target.name}: sanitizer report or failed assertion on stderr`);
  console.log(`chaos: ${target.name}: ${failures.length ? 'FAILED' : 'ok'} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (failures.length) {
    console.log(`--- ${target.name}: failures ---\n${[...new Set(failures)].join('\n')}`);
    if (srv.report) console.log(`--- ${target.name}: stderr from the report on ---\n${srv.report.slice(0, 60000)}`);
    else console.log(`--- ${target.name}: stderr tail ---\n${srv.tailText.slice(-4000)}`);
    if (state.stack) console.log(`--- ${target.name}: its stack when it stopped answering ---\n${state.stack}`);
    console.log(`--- ${target.name}: the clients' last actions ---\n${log.tail(80)}`);
  }
  return failures;
}

const rng = new Rng(seed);
const targetRngs = Object.fromEntries(Object.keys(TARGETS).map((k) => [k, rng.fork()])); // one stream per server
const all = [];
for (const key of chosen) {
  const seconds = (totalSeconds * TARGETS[key].share) / shareSum;
  all.push(...await runTarget(key, seconds, targetRngs[key]));
}
if (all.length) {
  console.log(`chaos: FAILED with seed ${seed}:\n  ${[...new Set(all)].join('\n  ')}`);
  console.log(`chaos: replay with SIO_CHAOS_SEED=${seed} SIO_CHAOS_SECONDS=${totalSeconds}${env.SIO_CHAOS_TARGETS ? ` SIO_CHAOS_TARGETS=${env.SIO_CHAOS_TARGETS}` : ''}`);
  process.exit(1);
}
console.log(`chaos: passed (seed ${seed})`);
process.exit(0);
