// The programs' command lines (sio-chat, sio-test-server, sio-bench): every
// numeric option and numeric environment variable is parsed strictly (the
// whole text, range-checked, no overflow). A bad value stops the program with
// exit status 2 and exactly one line on stderr naming the option and the
// accepted range; the edge values of each range are accepted (the servers
// start, listen and stop cleanly; sio-bench runs against a real server).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { BIN_DIR, startServer } from './lib/server.mjs';

// Runs a program that is expected to exit by itself; one that keeps running
// (it took a bad value and started) is killed after limitMs and fails.
function run(name, args, env = {}, limitMs = 10000) {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(BIN_DIR, name), args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

// Stops a started server once it has answered a request: its loop runs and
// its signal handlers are in place, so SIGTERM is a clean shutdown (exit 0).
async function answersAndStops(srv) {
  await fetch(`${srv.url}/socket.io/?EIO=4&transport=polling`);
  return (await srv.stop()).code;
}

const PORT = '0..65535';
const MS = '1..2147483647';

// [program, fixed args, option (as typed), value, name in the message, range]
const intCases = [
  ...['abc', '99999', '65536', '-5', '-1', '', ' 80', '80 ', '+', '1e3', '0x50', '8080a', '1.0',
    '18446744073709551617', '99999999999999999999999999'].map((v) =>
    ['sio-chat', ['--db', ':memory:'], '--port', v, '--port', PORT]),
  ...[['--typing-limit', '0', '1..100000'], ['--typing-limit', '100001', '1..100000'],
    ['--join-limit', 'x', '1..100000'], ['--limit-window', '0', '1..86400'],
    ['--limit-window', '86401', '1..86400'], ['--history-per-room', '0', '1..10000000'],
    ['--history-total', '-3', '1..1000000000'], ['--history-max-age', '1d', '0..3153600000'],
    ['--history-max-age', '-1', '0..3153600000']].map(([opt, v, range]) =>
    ['sio-chat', ['--db', ':memory:'], opt, v, opt, range]),
  ['sio-test-server', [], '--port', '-5', '--port', PORT],
  ['sio-test-server', [], '--port', '65536', '--port', PORT],
  ['sio-test-server', [], '--port', 'abc', '--port', PORT],
  ['sio-test-server', [], '--ping-interval', 'xyz', '--ping-interval', MS],
  ['sio-test-server', [], '--ping-interval', '0', '--ping-interval', MS],
  ['sio-test-server', [], '--ping-interval', '2147483648', '--ping-interval', MS],
  ['sio-test-server', [], '--ping-interval', '4294967396', '--ping-interval', MS],
  ['sio-test-server', [], '--ping-timeout', '', '--ping-timeout', MS],
  ['sio-test-server', [], '--ping-timeout', '-1', '--ping-timeout', MS],
  ['sio-test-server', [], '--connect-timeout', '10ms', '--connect-timeout', MS],
  ['sio-test-server', [], '--upgrade-timeout', '99999999999999999999', '--upgrade-timeout', MS],
  ['sio-test-server', [], '--max-http-buffer-size', '-1', '--max-http-buffer-size', '1..1073741824'],
  ['sio-test-server', [], '--max-http-buffer-size', '0', '--max-http-buffer-size', '1..1073741824'],
  ['sio-test-server', [], '--max-http-buffer-size', '1.5', '--max-http-buffer-size', '1..1073741824'],
  ['sio-test-server', [], '--max-http-buffer-size', '1073741825', '--max-http-buffer-size', '1..1073741824'],
  ['sio-bench', ['echo'], '-p', 'notaport', '--port', '1..65535'],
  ['sio-bench', ['echo'], '--port', '0', '--port', '1..65535'],
  ['sio-bench', ['echo'], '-p', '65536', '--port', '1..65535'],
  ['sio-bench', ['echo'], '-n', 'abc', '--connections', '1..10000000'],
  ['sio-bench', ['echo'], '-n', '0', '--connections', '1..10000000'],
  ['sio-bench', ['echo'], '--connections', '-1', '--connections', '1..10000000'],
  ['sio-bench', ['echo'], '-c', '0', '--concurrency', '1..10000000'],
  ['sio-bench', ['echo'], '-w', '0', '--window', '1..10000000'],
  ['sio-bench', ['broadcast'], '-s', 'x', '--senders', '1..10000000'],
  ['sio-bench', ['echo'], '--payload', '60001', '--payload', '0..60000'],
  ['sio-bench', ['echo'], '--sources', '251', '--sources', '0..250'],
  ['sio-bench', ['echo'], '--procs', '65', '--procs', '0..64'],
  ['sio-bench', ['echo'], '--server-pid', '0', '--server-pid', '1..2147483647'],
  ['sio-bench', ['echo'], '--server-cpu', '-1', '--server-cpu', '0..1023'],
];
const doubleCases = [
  ['sio-bench', ['echo'], '-d', 'inf', '--duration', '0..3600'],
  ['sio-bench', ['echo'], '-d', 'nan', '--duration', '0..3600'],
  ['sio-bench', ['echo'], '-d', '-1', '--duration', '0..3600'],
  ['sio-bench', ['echo'], '-d', '3601', '--duration', '0..3600'],
  ['sio-bench', ['echo'], '-d', '1e400', '--duration', '0..3600'],
  ['sio-bench', ['echo'], '-d', '0x10', '--duration', '0..3600'],
  ['sio-bench', ['echo'], '-d', '2s', '--duration', '0..3600'],
  ['sio-bench', ['echo'], '--warmup', 'abc', '--warmup', '0..3600'],
  ['sio-bench', ['echo'], '--rate', '-1', '--rate', '0..1e+09'],
  ['sio-bench', ['echo'], '--timeout', '0', '--timeout', '0.001..86400'],
  ['sio-bench', ['echo'], '--bcast-timeout', '.', '--bcast-timeout', '0.001..3600'],
  ['sio-bench', ['echo'], '--progress', '', '--progress', '0..3600'],
];

// The value as the message quotes it: control characters as \xNN.
const shown = (v) => v.replace(/[\\"]/g, (c) => `\\${c}`)
  .replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

for (const [kind, cases] of [['an integer', intCases], ['a number', doubleCases]]) {
  test(`bad values are refused: exit 2 and one line naming the option and the range (${kind})`, async () => {
    for (const [prog, fixed, opt, value, name, range] of cases) {
      const r = await run(prog, [...fixed, opt, value]);
      const what = `${prog} ${opt} ${JSON.stringify(value)}`;
      assert.equal(r.code, 2, `${what}: exit status (stderr: ${r.stderr})`);
      assert.equal(r.stderr, `${prog}: ${name}: "${shown(value)}" is not ${kind} in ${range}\n`, what);
      assert.doesNotMatch(r.stdout, /listening/, `${what}: did not start`);
    }
  });
}

test('a bad value is quoted on one line, however it looks', async () => {
  const r = await run('sio-chat', ['--db', ':memory:', '--port', '80\n"x"']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'sio-chat: --port: "80\\x0a\\"x\\"" is not an integer in 0..65535\n');
  const long = await run('sio-test-server', ['--port', '9'.repeat(200)]);
  assert.equal(long.code, 2);
  assert.equal(long.stderr, `sio-test-server: --port: "${'9'.repeat(64)}..." is not an integer in 0..65535\n`);
});

test('sio-chat: $PORT and the SIO_CHAT_* numbers are checked like the flags, which take precedence', async () => {
  for (const v of ['xyz', '99999', '-1', '', '8080 ']) {
    const r = await run('sio-chat', ['--db', ':memory:'], { PORT: v });
    assert.equal(r.code, 2, `PORT=${JSON.stringify(v)} (stderr: ${r.stderr})`);
    assert.equal(r.stderr, `sio-chat: PORT: "${v}" is not an integer in 0..65535\n`);
  }
  for (const [name, v, range] of [['SIO_CHAT_TYPING_LIMIT', '0', '1..100000'],
    ['SIO_CHAT_JOIN_LIMIT', 'ten', '1..100000'], ['SIO_CHAT_LIMIT_WINDOW', '1.5', '1..86400'],
    ['SIO_CHAT_HISTORY_PER_ROOM', '', '1..10000000'], ['SIO_CHAT_HISTORY_TOTAL', '1e6', '1..1000000000'],
    ['SIO_CHAT_HISTORY_MAX_AGE', '30d', '0..3153600000']]) {
    const r = await run('sio-chat', ['--db', ':memory:'], { [name]: v });
    assert.equal(r.code, 2, `${name}=${JSON.stringify(v)} (stderr: ${r.stderr})`);
    assert.equal(r.stderr, `sio-chat: ${name}: "${v}" is not an integer in ${range}\n`);
  }
  // startServer passes --port 0: the environment is then not used
  const srv = await startServer('sio-chat', ['--db', ':memory:'], { env: { PORT: 'xyz' } });
  assert.ok(srv.port > 0);
  assert.equal(await answersAndStops(srv), 0);
});

test('sio-test-server --transports takes polling, websocket or both only', async () => {
  const r = await run('sio-test-server', ['--transports', 'pollings']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'sio-test-server: --transports: "pollings" is not polling, websocket or both\n');
  const srv = await startServer('sio-test-server', ['--transports', 'both']);
  assert.equal(await answersAndStops(srv), 0);
});

// Ports 0 and 65535 for the servers: 65535 may be taken on a shared machine,
// which is then reported as such (exit 1), never as a bad value.
async function startsOn(name, port, args = [], env = {}) {
  try {
    const srv = await startServer(name, [...args, '--port', String(port)], { env });
    if (port) assert.equal(srv.port, port, `${name} listens on ${port}`);
    else assert.ok(srv.port > 0, `${name}: port 0 picks a free port`);
    assert.equal(await answersAndStops(srv), 0, `${name} stops cleanly`);
  } catch (e) {
    assert.match(String(e), /exited 1: .*(address already in use|EADDRINUSE)/is, String(e));
  }
}

test('edge values are accepted: the servers start on ports 0 and 65535 with extreme options', async () => {
  await startsOn('sio-chat', 0, ['--db', ':memory:']);
  await startsOn('sio-chat', 65535, ['--db', ':memory:']);
  await startsOn('sio-chat', 0, ['--db', ':memory:', '--typing-limit', '1', '--join-limit', '100000',
    '--limit-window', '86400', '--history-per-room', '1', '--history-total', '1000000000',
    '--history-max-age', '0']);
  await startsOn('sio-chat', 0, ['--db', ':memory:', '--typing-limit', '100000', '--join-limit', '1',
    '--limit-window', '1', '--history-per-room', '10000000', '--history-total', '1',
    '--history-max-age', '3153600000']);
  await startsOn('sio-test-server', 0, ['--ping-interval', '1', '--ping-timeout', '2147483647',
    '--connect-timeout', '1', '--upgrade-timeout', '2147483647', '--max-http-buffer-size', '1']);
  await startsOn('sio-test-server', 65535, ['--ping-interval', '2147483647', '--ping-timeout', '1',
    '--connect-timeout', '2147483647', '--upgrade-timeout', '1', '--max-http-buffer-size', '1073741824']);
  // $PORT with no --port: spawned directly (startServer always passes --port)
  const child = spawn(path.join(BIN_DIR, 'sio-chat'), ['--db', ':memory:'], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PORT: '0' },
  });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`sio-chat exited ${code}`)));
  });
  assert.ok(port > 0, 'PORT=0 picks a free port');
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
});

test('edge values are accepted: sio-bench runs against a real server', async () => {
  const srv = await startServer('sio-test-server');
  try {
    const r = await run('sio-bench', ['echo', '-p', String(srv.port), '-n', '1', '-c', '1', '-w', '1',
      '--payload', '0', '-d', '0.3', '--warmup', '0', '--rate', '0', '--sources', '0', '--procs', '1',
      '--timeout', '30', '--bcast-timeout', '0.001', '--progress', '0', '-q'], {}, 60000);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout.trim().split('\n').at(-1));
    assert.ok(j.ops > 0, `round trips: ${j.ops}`);
    const big = await run('sio-bench', ['echo', '-p', String(srv.port), '-n', '1', '--payload', '60000',
      '-d', '0.3', '--warmup', '0', '--sources', '250', '--procs', '1', '-q'], {}, 60000);
    assert.equal(big.code, 0, big.stderr);
  } finally {
    assert.equal((await srv.stop()).code, 0);
  }
});
