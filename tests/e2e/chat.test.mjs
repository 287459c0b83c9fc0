// The chat page in a real browser: Debian's Chromium driven by playwright-core
// against the real sio-chat serving examples/chat/client/.
//
// The tests run in order and share one server and two desktop users, Ana and
// Bruno, each in their own browser context (own storage, own connection):
// a clean load (no console error, no failed request), invalid name, chatting,
// typing indicator, reload, phone layout, text-only rendering, rooms, inline
// ack errors, and a server restart on the same port and database. Screenshots land in $SIO_BUILD_DIR/e2e-screenshots/;
// with SIO_UPDATE_SCREENSHOT=1 the desktop one is also copied to
// docs/images/chat.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { io } from 'socket.io-client';
import { startServer, SOURCE_DIR } from '../interop/lib/server.mjs';

const CHROMIUM = process.env.SIO_CHROMIUM || '/usr/bin/chromium';
const BUILD_DIR = process.env.SIO_BUILD_DIR || path.resolve('build/asan');
const SHOTS = path.join(BUILD_DIR, 'e2e-screenshots');
const STATIC_DIR = path.join(SOURCE_DIR, 'examples/chat/client');
const WAIT = 10000;            // the longest any single step may take
const RECONNECT_WAIT = 30000;  // the client's reconnection backoff goes up to 5 s per attempt
const DESKTOP = { width: 1100, height: 700 };
const PHONE = { width: 360, height: 640 };

let dir, db, port, srv, browser;
let ana, bruno;                       // {context, page}
const pageErrors = [];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

function start() {
  return startServer('sio-chat', ['--port', String(port), '--db', db, '--static-dir', STATIC_DIR]);
}

async function newPage(viewport = DESKTOP) {
  const context = await browser.newContext({ viewport, colorScheme: 'light', locale: 'en-US' });
  context.setDefaultTimeout(WAIT);
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(srv.url + '/');
  return { context, page };
}

async function login(user, name) {
  const { page } = user;
  await page.getByLabel('Nickname', { exact: true }).fill(name);
  await page.getByLabel('Nickname', { exact: true }).press('Enter');
  await connected(page);
  await page.locator('#chat').waitFor({ state: 'visible' });
}

async function enter(name, viewport) {
  const user = await newPage(viewport);
  await login(user, name);
  return user;
}

function connected(page, timeout = WAIT) {
  return page.locator('#status[data-state="connected"]').waitFor({ timeout });
}

async function send(page, text) {
  await page.getByLabel('Message', { exact: true }).click();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (i > 0) await page.keyboard.press('Shift+Enter');
    await page.keyboard.type(lines[i]);
  }
  await page.keyboard.press('Enter');
}

function message(page, text) {
  return page.locator('#messages .msg', { hasText: text });
}

async function seen(page, text, timeout = WAIT) {
  const m = message(page, text);
  await m.first().waitFor({ timeout });
  return m;
}

async function idsShown(page) {
  return page.locator('#messages .msg').evaluateAll((els) => els.map((e) => Number(e.dataset.id)));
}

async function assertNoDuplicates(page) {
  const ids = await idsShown(page);
  assert.equal(new Set(ids).size, ids.length, `duplicate message ids: ${ids}`);
  assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'messages are in id order');
}

async function joinRoom(page, room) {
  const form = page.locator('#room-form');
  if (!(await form.isVisible())) await page.getByRole('button', { name: 'Create a room' }).click();
  await page.getByLabel('New room', { exact: true }).fill(room);
  await page.getByLabel('New room', { exact: true }).press('Enter');
  await page.locator('#room-list .room[aria-current="true"]', { hasText: `# ${room}` }).waitFor();
}

async function shot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, name);
  await page.screenshot({ path: file });
  return file;
}

function waitUntil(pred, what, timeout = WAIT) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = () => {
      if (pred()) resolve();
      else if (Date.now() - t0 > timeout) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 25);
    };
    tick();
  });
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sio-e2e-chat-'));
  db = path.join(dir, 'chat.db');
  port = await freePort();
  srv = await start();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 30000,
  });
});

after(async () => {
  if (browser) await browser.close();
  if (srv) {
    const r = await srv.stop();
    assert.deepEqual(r, { code: 0, signal: null }, 'sio-chat exits cleanly');
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('the page loads with no console error and no failed request, its icon included', async () => {
  const context = await browser.newContext({ viewport: DESKTOP, colorScheme: 'light', locale: 'en-US' });
  context.setDefaultTimeout(WAIT);
  try {
    const page = await context.newPage();
    const problems = [];
    const paths = [];
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`script error: ${e}`));
    page.on('requestfailed', (r) => problems.push(`failed: ${r.url()} (${r.failure()?.errorText})`));
    page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
    page.on('request', (r) => paths.push(new URL(r.url()).pathname));
    const icon = page.waitForResponse((r) => /favicon/.test(r.url()));
    await page.goto(srv.url + '/', { waitUntil: 'load' });
    const r = await icon;
    assert.equal(r.status(), 200, `${r.url()}: the page's icon is served`);
    assert.match(r.headers()['content-type'], /^image\/svg\+xml/);
    // and the page works: a name, a connection, the lobby's history
    await page.getByLabel('Nickname', { exact: true }).fill('Loader');
    await page.getByLabel('Nickname', { exact: true }).press('Enter');
    await connected(page);
    await page.locator('#chat').waitFor({ state: 'visible' });
    await page.locator('#room-list .room[aria-current="true"]', { hasText: '# lobby' }).waitFor();
    assert.deepEqual(problems, [], `requests: ${paths.join(' ')}`);
  } finally {
    await context.close();
  }
});

test('an invalid name is refused and the reason shown next to the prompt', async () => {
  const user = await newPage();
  try {
    const { page } = user;
    await page.getByLabel('Nickname', { exact: true }).fill('x'.repeat(40));
    await page.getByRole('button', { name: 'Enter chat' }).click();
    await page.locator('#login-error', { hasText: 'name must be 1-32 characters' }).waitFor();
    await page.getByLabel('Nickname', { exact: true }).fill('   ');
    await page.getByLabel('Nickname', { exact: true }).press('Enter');
    await page.locator('#login-error', { hasText: 'name required' }).waitFor();
    assert.equal(await page.locator('#chat').isVisible(), false);
    assert.equal(await page.locator('#status').textContent(), 'offline');
    assert.equal(await page.evaluate(() => localStorage.getItem('sio-chat.name')), null,
      'a refused name is not remembered');
  } finally {
    await user.context.close();
  }
});

test('two users chat: the message arrives with its name, the own one set apart', async () => {
  ana = await enter('Ana');
  bruno = await enter('Bruno');
  await ana.page.locator('#messages .notice', { hasText: 'Bruno joined' }).waitFor();
  await ana.page.locator('#member-list .member', { hasText: 'Bruno' }).waitFor();
  await bruno.page.locator('#member-list .member', { hasText: 'Ana' }).waitFor();

  await send(ana.page, 'Hi Bruno! The new chat server is up. Want to try it?');
  const got = await seen(bruno.page, 'The new chat server is up');
  assert.equal(await got.locator('.name').textContent(), 'Ana');
  assert.match(await got.locator('.time').textContent(), /^\d\d:\d\d$/);
  assert.equal(await got.evaluate((e) => e.classList.contains('own')), false);
  const mine = await seen(ana.page, 'The new chat server is up');
  assert.equal(await mine.evaluate((e) => e.classList.contains('own')), true);
  assert.equal(await ana.page.getByLabel('Message', { exact: true }).inputValue(), '', 'Enter sent and cleared');

  await send(bruno.page, 'Hi Ana! Yes, messages show up instantly here.');
  await send(bruno.page, 'Enter sends,\nShift+Enter starts a new line.');
  const multi = await seen(ana.page, 'Enter sends,');
  assert.equal(await multi.locator('.bubble').textContent(), 'Enter sends,\nShift+Enter starts a new line.');
  await send(ana.page, "Nice. Let's open a room for the design review.");
  await seen(bruno.page, 'open a room for the design review');

  // Own messages are aligned right and colored apart from the others'.
  const look = (loc) => loc.evaluate((e) => {
    const b = e.querySelector('.bubble');
    const r = b.getBoundingClientRect();
    const list = e.closest('#messages').getBoundingClientRect();
    return { bg: getComputedStyle(b).backgroundColor, right: list.right - r.right, left: r.left - list.left };
  });
  const own = await look(await seen(ana.page, 'open a room'));
  const other = await look(await seen(ana.page, 'show up instantly'));
  assert.notEqual(own.bg, other.bg, 'own bubble has its own color');
  assert.ok(own.right < own.left, `own message is on the right (${JSON.stringify(own)})`);
  assert.ok(other.left < other.right, `other message is on the left (${JSON.stringify(other)})`);
  await assertNoDuplicates(ana.page);
  await assertNoDuplicates(bruno.page);
});

test('the typing indicator shows in the other page and stops', async () => {
  const typing = ana.page.locator('#typing');
  await bruno.page.getByLabel('Message', { exact: true }).click();
  await bruno.page.keyboard.type('On it, creating #design');
  await ana.page.locator('#typing', { hasText: 'Bruno is typing…' }).waitFor();
  assert.equal(await bruno.page.locator('#typing').textContent(), '', 'no indicator for oneself');

  const file = await shot(ana.page, 'chat-desktop.png');
  await shot(bruno.page, 'chat-desktop-bruno.png');
  await ana.page.emulateMedia({ colorScheme: 'dark' });
  await shot(ana.page, 'chat-desktop-dark.png');
  await ana.page.emulateMedia({ colorScheme: 'light' });
  if (process.env.SIO_UPDATE_SCREENSHOT === '1') {
    fs.mkdirSync(path.join(SOURCE_DIR, 'docs/images'), { recursive: true });
    fs.copyFileSync(file, path.join(SOURCE_DIR, 'docs/images/chat.png'));
  }

  // Sending stops it at once...
  await bruno.page.keyboard.press('Enter');
  await seen(ana.page, 'On it, creating #design');
  await ana.page.waitForFunction(() => document.getElementById('typing').textContent === '', null,
    { timeout: 3000 });
  // ...and so do about 2 s without input.
  await bruno.page.keyboard.type('hmm');
  await ana.page.locator('#typing', { hasText: 'Bruno is typing…' }).waitFor();
  const t0 = Date.now();
  await ana.page.waitForFunction(() => document.getElementById('typing').textContent === '', null,
    { timeout: 5000 });
  assert.ok(Date.now() - t0 >= 1000, 'the indicator stays while the pause is short');
  await bruno.page.getByLabel('Message', { exact: true }).fill('');
  assert.equal(await typing.textContent(), '');
});

test('a reload shows the history, without duplicates', async () => {
  const before = await idsShown(bruno.page);
  await bruno.page.reload();
  await connected(bruno.page);            // the remembered name connects by itself
  await seen(bruno.page, 'The new chat server is up');
  await seen(bruno.page, 'On it, creating #design');
  assert.deepEqual(await idsShown(bruno.page), before);
  assert.equal(await message(bruno.page, 'The new chat server is up').first().locator('.name').textContent(), 'Ana');
  assert.equal(await message(bruno.page, 'show up instantly').first().evaluate((e) => e.classList.contains('own')),
    true, 'own messages from the history are set apart too');
});

test('a phone-sized window gets the compact layout', async () => {
  const carla = await enter('Carla', PHONE);
  try {
    const { page } = carla;
    await seen(page, 'open a room for the design review');
    await send(page, 'Hello from my phone, it fits nicely.');
    await seen(ana.page, 'Hello from my phone');
    const layout = await page.evaluate(() => {
      const rooms = document.getElementById('rooms').getBoundingClientRect();
      const list = document.getElementById('messages').getBoundingClientRect();
      return { scrollWidth: document.documentElement.scrollWidth, roomsH: rooms.height, roomsW: rooms.width,
        listTop: list.top, listLeft: list.left, listW: list.width };
    });
    assert.ok(layout.scrollWidth <= PHONE.width, `no horizontal scrolling (${layout.scrollWidth})`);
    assert.ok(layout.roomsW >= PHONE.width - 1 && layout.roomsH < 140,
      `the room list is a bar on top (${JSON.stringify(layout)})`);
    assert.ok(layout.listTop >= layout.roomsH && layout.listLeft < 10 && layout.listW >= PHONE.width - 10,
      `the messages take the full width (${JSON.stringify(layout)})`);
    assert.ok(await page.getByLabel('Send message').isVisible());
    await shot(page, 'chat-phone.png');
    await page.getByRole('button', { name: 'Create a room' }).click();
    await page.getByLabel('New room', { exact: true }).waitFor({ state: 'visible' });
    await shot(page, 'chat-phone-new-room.png');
  } finally {
    await carla.context.close();
  }
});

test('user text is rendered as text, never as markup', async () => {
  const evil = '<b>bold?</b> & <img src=x onerror="window.pwned=1"> <script>window.pwned=2</script>';
  await send(bruno.page, evil);
  const m = await seen(ana.page, '<b>bold?</b>');
  assert.equal(await m.locator('.bubble').textContent(), evil);
  assert.equal(await m.locator('.bubble *').count(), 0, 'no element was created from the text');
  assert.equal(await ana.page.evaluate(() => window.pwned), undefined);
});

test('rooms are isolated from each other', async () => {
  // The client checks the room rule before asking.
  await joinRoom(ana.page, 'e2e-design');
  await ana.page.getByLabel('New room', { exact: true }).fill('Bad Room!');
  await ana.page.getByLabel('New room', { exact: true }).press('Enter');
  await ana.page.locator('#room-error', { hasText: 'a-z, 0-9' }).waitFor();
  assert.equal(await ana.page.locator('#room-title').textContent(), '# e2e-design');
  assert.equal(await message(ana.page, 'The new chat server is up').count(), 0, 'the lobby stays in the lobby');

  await send(ana.page, 'Only the design room sees this.');
  await seen(ana.page, 'Only the design room sees this');
  await send(bruno.page, 'Still in the lobby.');
  await seen(bruno.page, 'Still in the lobby');
  assert.equal(await message(bruno.page, 'Only the design room').count(), 0);
  assert.equal(await message(ana.page, 'Still in the lobby').count(), 0);

  await joinRoom(bruno.page, 'e2e-design');
  await seen(bruno.page, 'Only the design room sees this');           // from the join history
  assert.equal(await message(bruno.page, 'Still in the lobby').count(), 0);
  await bruno.page.locator('#member-list .member', { hasText: 'Ana' }).waitFor();
  await ana.page.locator('#messages .notice', { hasText: 'Bruno joined' }).last().waitFor();
  await send(bruno.page, 'Here too now.');
  await seen(ana.page, 'Here too now');

  // Back to the lobby by clicking it; the created room stays in the list.
  await ana.page.getByRole('button', { name: '# lobby' }).click();
  await seen(ana.page, 'Still in the lobby');
  assert.equal(await message(ana.page, 'Here too now').count(), 0);
  assert.equal(await ana.page.locator('#room-list .room', { hasText: '# e2e-design' }).count(), 1);
  await assertNoDuplicates(ana.page);
  await assertNoDuplicates(bruno.page);
});

test('an error in an ack is shown under the input (rate limit)', async () => {
  const dora = await enter('Dora');
  try {
    const { page } = dora;
    await joinRoom(page, 'e2e-flood');
    const input = page.getByLabel('Message', { exact: true });
    for (let i = 1; i <= 25; i++) {
      await input.fill(`flood ${i}`);
      await input.press('Enter');
    }
    await page.locator('#send-error', { hasText: 'rate limit' }).waitFor();
    assert.match(await input.inputValue(), /^flood \d+$/, 'the refused text is given back');
  } finally {
    await dora.context.close();
  }
});

test('a server restart: reconnecting…, then connected, nothing lost or doubled', async () => {
  // Ana is in the lobby, Bruno in e2e-design: after the restart the server
  // puts every new socket in the lobby, so Bruno's page must re-join.
  const beforeIds = await idsShown(bruno.page);
  const r = await srv.stop();
  assert.deepEqual(r, { code: 0, signal: null }, 'sio-chat exits cleanly on SIGTERM');
  srv = null;
  for (const u of [ana, bruno]) {
    await u.page.locator('#status[data-state="reconnecting"]', { hasText: 'reconnecting…' }).waitFor();
  }
  await shot(bruno.page, 'chat-reconnecting.png');

  srv = await start();
  // Someone else speaks in the room right away, maybe before the page is back:
  // the page gets it either live or from the history, once.
  const eve = io(srv.url + '/chat', { auth: { name: 'Eve' }, transports: ['websocket'] });
  try {
    await new Promise((resolve, reject) => {
      eve.once('connect', resolve);
      eve.once('connect_error', reject);
    });
    const j = await eve.timeout(WAIT).emitWithAck('join', 'e2e-design');
    assert.equal(j.ok, true);
    const sent = await eve.timeout(WAIT).emitWithAck('msg_to_server', { room: 'e2e-design', text: 'Sent while you were away.' });
    assert.equal(sent.ok, true);

    for (const u of [ana, bruno]) {
      await connected(u.page, RECONNECT_WAIT);
      assert.equal(await u.page.locator('#status').textContent(), 'connected');
    }
    await seen(bruno.page, 'Sent while you were away');
    assert.equal(await message(bruno.page, 'Sent while you were away').count(), 1);
    assert.equal(await bruno.page.locator('#room-title').textContent(), '# e2e-design');
    const afterIds = await idsShown(bruno.page);
    assert.deepEqual(afterIds.slice(0, beforeIds.length), beforeIds, 'the messages shown stay');
    await assertNoDuplicates(bruno.page);

    // Messages sent after the recovery arrive, in the room the page re-joined.
    const got = [];
    eve.on('msg_to_client', (m) => got.push(m));
    await send(bruno.page, 'Back after the restart.');
    await seen(bruno.page, 'Back after the restart');
    await waitUntil(() => got.some((m) => m.text === 'Back after the restart.' && m.name === 'Bruno'),
      'Eve to get the message');
    await send(ana.page, 'Lobby is back too.');
    await seen(ana.page, 'Lobby is back too');

    // What was said before the restart is still in the history.
    await ana.page.getByRole('button', { name: '# e2e-design' }).click();
    await seen(ana.page, 'Only the design room sees this');
    await seen(ana.page, 'Sent while you were away');
    await seen(ana.page, 'Back after the restart');
    await assertNoDuplicates(ana.page);
  } finally {
    eve.disconnect();
  }
});

test('no script errors in any page', () => {
  assert.deepEqual(pageErrors, []);
});
