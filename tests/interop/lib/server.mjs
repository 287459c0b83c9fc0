// Starts one of our server programs for a test and stops it again.
//
// The program prints "listening on PORT" once bound (port 0 is asked for, so
// tests never collide). stop() sends SIGTERM and resolves with the exit code:
// the servers free everything before exiting, so an ASan build turns a leak
// into a non-zero code that the tests assert on.
import { spawn } from 'node:child_process';
import path from 'node:path';

export const BIN_DIR = process.env.SIO_BIN_DIR || path.resolve('build/asan/bin');
export const SOURCE_DIR = process.env.SIO_SOURCE_DIR || path.resolve('.');

// env: variables to add to (or override in) the server's environment.
export async function startServer(name, args = [], { timeoutMs = 15000, env = {} } = {}) {
  const child = spawn(path.join(BIN_DIR, name), ['--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${err}`)), timeoutMs);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (\d+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited ${code ?? signal}: ${err}`));
    });
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    port,
    child,
    url: `http://127.0.0.1:${port}`,
    stderr: () => err,
    stdout: () => out,
    async stop({ signal = 'SIGTERM', timeoutMs = 15000 } = {}) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const r = await exited;
      clearTimeout(timer);
      if (r.code !== 0) process.stderr.write(`--- ${name} (${r.code ?? r.signal}) stderr ---\n${err}\n`);
      return r;
    },
    exited,
  };
}
