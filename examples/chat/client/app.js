// app.js - the chat page of socketio-c.
//
// Owns everything the page does: the nickname prompt, the one Socket.IO
// connection to namespace /chat (the events are those of
// examples/chat/PROTOCOL.md), the room list (lobby plus the rooms the user
// created, remembered in localStorage), the message list of the current room,
// the members list, the typing indicator and the connection badge.
//
// Messages are merged by id: the history of a join, the live msg_to_client
// events and the "history" requests that fill a gap after a reconnection may
// overlap, and each id is shown once, in id order. User data is rendered with
// textContent only, never as markup. Loaded as a module: it defines no globals.

const ROOM_RE = /^[a-z0-9-]{1,32}$/;
const LOBBY = 'lobby';
const MAX_TEXT = 2000;            // code points, as the server counts
const HISTORY_PAGE = 50;          // the server's page size for join and history
const ACK_TIMEOUT_MS = 8000;      // an ack that does not come by then is an error
const TYPING_IDLE_MS = 2000;      // "typing" stops after this long without input
const TYPING_REFRESH_MS = 3000;   // while typing goes on, say so again this often
const TYPING_EXPIRE_MS = 6000;    // another's "typing" is forgotten after this (the event is volatile)
const GROUP_GAP_MS = 5 * 60000;   // messages of one person closer than this share one header
const STORE = { name: 'sio-chat.name', rooms: 'sio-chat.rooms', room: 'sio-chat.room' };

const $ = (id) => document.getElementById(id);
const ui = {
  status: $('status'), identity: $('identity'), meName: $('me-name'), changeName: $('change-name'),
  login: $('login'), loginForm: $('login-form'), nameInput: $('name-input'), loginError: $('login-error'),
  chat: $('chat'), rooms: $('rooms'), roomList: $('room-list'), roomToggle: $('room-form-toggle'),
  roomForm: $('room-form'), roomInput: $('room-input'), roomError: $('room-error'),
  memberList: $('member-list'), memberCount: $('member-count'),
  roomTitle: $('room-title'), messages: $('messages'), typing: $('typing'),
  composer: $('composer'), text: $('text-input'), sendError: $('send-error'),
};

const state = {
  socket: null,
  name: '',
  joined: false,            // the current room's view is filled (so a reconnection keeps it)
  room: LOBBY,              // the room shown
  rooms: [LOBBY],           // the room list
  seen: new Set(),          // message ids shown in the current room
  lastId: 0,                // the largest of them
  members: new Map(),       // name -> number of connections in the current room
  typers: new Map(),        // name -> timer that forgets them
  typing: { active: false, sentAt: 0, idle: 0 },   // what this page told the others
  joinSeq: 0,               // the latest join asked for; older answers are ignored
  pending: null,            // {room, messages}: live messages of a room being joined, before its ack
  sendErrorTimer: 0,
};

/* ---------- small helpers ---------- */

function load(key, fallback) {
  try {
    const v = localStorage.getItem(key);
    return v === null ? fallback : JSON.parse(v);
  } catch {
    return fallback;
  }
}

function save(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    /* storage full or disabled: the page works without it */
  }
}

function make(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function pad2(n) {
  return String(n).padStart(2, '0');
}

function timeElement(ts) {
  const d = new Date(ts);
  const t = make('time', 'time', `${pad2(d.getHours())}:${pad2(d.getMinutes())}`);
  t.dateTime = d.toISOString();
  t.title = d.toLocaleString();
  return t;
}

function codePoints(s) {
  return [...s].length;
}

function isMessage(m) {
  return m && Number.isInteger(m.id) && m.id > 0 && typeof m.name === 'string' &&
    typeof m.text === 'string' && typeof m.room === 'string' && Number.isFinite(m.ts);
}

// Emits an event with an acknowledgement and resolves with the answer, or
// with {error} when the server does not answer in time.
function request(event, arg) {
  const socket = state.socket;
  if (!socket || !socket.connected) return Promise.resolve({ error: 'not connected' });
  return new Promise((resolve) => {
    socket.timeout(ACK_TIMEOUT_MS).emit(event, arg, (err, res) => {
      if (err) resolve({ error: 'no answer from the server' });
      else resolve(res && typeof res === 'object' ? res : { error: 'bad answer from the server' });
    });
  });
}

/* ---------- connection ---------- */

const STATUS_TEXT = {
  offline: 'offline', connecting: 'connecting…', connected: 'connected', reconnecting: 'reconnecting…',
};

function setStatus(s) {
  ui.status.dataset.state = s;
  ui.status.textContent = STATUS_TEXT[s];
}

function connect(name) {
  closeSocket();
  state.name = name;
  state.joined = false;
  const socket = io('/chat', { auth: { name }, forceNew: true });
  state.socket = socket;
  setStatus('connecting');
  socket.on('connect', onConnect);
  socket.on('connect_error', onConnectError);
  socket.on('disconnect', onDisconnect);
  socket.io.on('reconnect_attempt', () => setStatus('reconnecting'));
  socket.on('msg_to_client', onMessage);
  socket.on('user_joined', (e) => onPresence(e, true));
  socket.on('user_left', (e) => onPresence(e, false));
  socket.on('typing', onTyping);
}

function closeSocket() {
  if (!state.socket) return;
  state.socket.removeAllListeners();
  state.socket.io.removeAllListeners();
  state.socket.disconnect();
  state.socket = null;
}

function onConnect() {
  setStatus('connected');
  if (ui.chat.hidden) {
    save(STORE.name, state.name);
    showChat();
  }
  // A first connection opens the remembered room; a reconnection re-enters the
  // room shown (the server put the new socket in the lobby) and fills the gap.
  enterRoom(state.room, { keep: state.joined }).then((ok) => {
    if (!ok && state.room !== LOBBY) enterRoom(LOBBY);
  });
}

function onConnectError(err) {
  const socket = state.socket;
  if (socket && socket.active) {
    // The server cannot be reached: the client retries by itself.
    setStatus('reconnecting');
    if (!ui.login.hidden) ui.loginError.textContent = 'Cannot reach the server, retrying…';
    return;
  }
  // Refused by the server (an invalid name, say): back to the prompt.
  closeSocket();
  setStatus('offline');
  showLogin(err && err.message ? err.message : 'connection refused');
}

function onDisconnect(reason) {
  setStatus('reconnecting');
  clearTypers();
  stopTyping(false);
  if (reason === 'io server disconnect') {
    // The server closed the namespace (a restart, say): come back by ourselves.
    const socket = state.socket;
    setTimeout(() => { if (state.socket === socket && !socket.connected) socket.connect(); }, 1000);
  }
}

/* ---------- screens ---------- */

function showLogin(error = '') {
  ui.chat.hidden = true;
  ui.identity.hidden = true;
  ui.login.hidden = false;
  setLoginBusy(false);
  ui.loginError.textContent = error;
  ui.nameInput.focus();
  if (error) ui.nameInput.select();
}

function setLoginBusy(busy) {
  const button = ui.loginForm.querySelector('button');
  button.disabled = busy;
  button.textContent = busy ? 'Connecting…' : 'Enter chat';
}

function showChat() {
  ui.login.hidden = true;
  ui.chat.hidden = false;
  ui.identity.hidden = false;
  ui.meName.textContent = state.name;
  ui.loginError.textContent = '';
  renderRooms();
  ui.text.focus();
}

function onLoginSubmit(e) {
  e.preventDefault();
  const name = ui.nameInput.value.trim();
  ui.loginError.textContent = '';
  setLoginBusy(true);
  connect(name);
}

function onChangeName() {
  stopTyping();
  closeSocket();
  setStatus('offline');
  ui.nameInput.value = state.name;
  showLogin();
}

/* ---------- rooms ---------- */

// Joins a room. keep: a reconnection into the room shown, whose messages stay
// and whose gap since the last message seen is fetched with "history".
async function enterRoom(room, { keep = false } = {}) {
  const seq = ++state.joinSeq;
  const after = state.lastId;
  // The history is read off the server's loop, so a live message of the new
  // room may come before the ack: keep those aside until the view is ready.
  const pending = { room, messages: [] };
  state.pending = pending;
  const res = await request('join', room);
  if (seq !== state.joinSeq) return true;   // a later join took over
  state.pending = null;
  if (res.error || !res.ok) {
    showRoomError(`Cannot join #${room}: ${res.error || 'refused'}`);
    return false;
  }
  if (!keep || room !== state.room) resetRoomView(room);
  state.joined = true;
  setMembers(Array.isArray(res.members) ? res.members : []);
  addMessages(Array.isArray(res.history) ? res.history : [], { bulk: true });
  addMessages(pending.messages);
  if (keep && after > 0) await fillGap(room, after);
  return true;
}

async function fillGap(room, after) {
  for (let page = 0; page < 40; page++) {
    const res = await request('history', { room, after });
    if (room !== state.room || !res.ok || !Array.isArray(res.messages)) return;
    const batch = res.messages.filter(isMessage);
    const closed = batch.some((m) => state.seen.has(m.id));
    addMessages(batch, { bulk: true });
    if (closed || batch.length < HISTORY_PAGE) return;
    after = Math.max(...batch.map((m) => m.id));
  }
}

function resetRoomView(room) {
  state.room = room;
  state.seen.clear();
  state.lastId = 0;
  clearTypers();
  ui.messages.replaceChildren();
  ui.roomTitle.textContent = `# ${room}`;
  document.title = `#${room} · socketio-c chat`;
  save(STORE.room, room);
  if (!state.rooms.includes(room)) {
    state.rooms.push(room);
    saveRooms();
  }
  renderRooms();
}

async function switchRoom(room) {
  clearRoomError();
  if (room === state.room && state.joined) {
    ui.text.focus();
    return true;
  }
  stopTyping();
  const ok = await enterRoom(room);
  if (ok) ui.text.focus();
  return ok;
}

function saveRooms() {
  save(STORE.rooms, state.rooms.filter((r) => r !== LOBBY));
}

function renderRooms() {
  ui.roomList.replaceChildren(...state.rooms.map(roomItem));
}

function roomItem(room) {
  const li = make('li', 'room-item');
  const current = room === state.room;
  const button = make('button', 'room', `# ${room}`);
  button.type = 'button';
  if (current) button.setAttribute('aria-current', 'true');
  button.addEventListener('click', () => switchRoom(room));
  li.append(button);
  if (room !== LOBBY && !current) {
    const forget = make('button', 'room-forget', '×');
    forget.type = 'button';
    forget.setAttribute('aria-label', `Remove #${room} from the list`);
    forget.addEventListener('click', () => forgetRoom(room));
    li.append(forget);
  }
  return li;
}

function forgetRoom(room) {
  state.rooms = state.rooms.filter((r) => r !== room);
  saveRooms();
  renderRooms();
  ui.roomInput.focus();
}

async function onRoomSubmit(e) {
  e.preventDefault();
  const room = ui.roomInput.value.trim().toLowerCase().replace(/\s+/g, '-');
  if (!ROOM_RE.test(room)) {
    showRoomError('A room name is 1 to 32 of a-z, 0-9 and -.');
    ui.roomInput.focus();
    return;
  }
  if (await switchRoom(room)) {
    ui.roomInput.value = '';
    toggleRoomForm(false);
  }
}

function toggleRoomForm(open = !ui.rooms.classList.contains('form-open')) {
  ui.rooms.classList.toggle('form-open', open);
  ui.roomToggle.setAttribute('aria-expanded', String(open));
  if (open) ui.roomInput.focus();
}

function showRoomError(text) {
  ui.roomError.textContent = text;
  if (text) toggleRoomForm(true);
}

function clearRoomError() {
  ui.roomError.textContent = '';
}

/* ---------- members and presence ---------- */

function setMembers(names) {
  state.members.clear();
  for (const n of names) if (typeof n === 'string') state.members.set(n, (state.members.get(n) || 0) + 1);
  if (!state.members.has(state.name)) state.members.set(state.name, 1);
  renderMembers();
}

function renderMembers() {
  const names = [...state.members.keys()].sort((a, b) => a.localeCompare(b));
  ui.memberCount.textContent = String(names.length);
  ui.memberList.replaceChildren(...names.map((n) => {
    const li = make('li', n === state.name ? 'member me' : 'member', n);
    if (n === state.name) li.append(make('span', 'you', ' (you)'));
    return li;
  }));
}

function onPresence(e, joined) {
  if (!e || e.room !== state.room || typeof e.name !== 'string') return;
  const n = state.members.get(e.name) || 0;
  if (joined) state.members.set(e.name, n + 1);
  else if (n <= 1) state.members.delete(e.name);
  else state.members.set(e.name, n - 1);
  if (!joined) removeTyper(e.name);
  renderMembers();
  addNotice(`${e.name} ${joined ? 'joined' : 'left'}`, e.ts, joined ? 'joined' : 'left');
}

/* ---------- the message list ---------- */

function nearBottom() {
  const m = ui.messages;
  return m.scrollHeight - m.scrollTop - m.clientHeight < 80;
}

function scrollToBottom() {
  ui.messages.scrollTop = ui.messages.scrollHeight;
}

function onMessage(m) {
  if (!isMessage(m)) return;
  if (m.room !== state.room) {
    if (state.pending && state.pending.room === m.room) state.pending.messages.push(m);
    return;
  }
  removeTyper(m.name);
  addMessages([m]);
}

// Shows messages not shown yet, each at its place in id order.
function addMessages(list, { bulk = false } = {}) {
  const stick = nearBottom();
  let own = false;
  if (bulk) ui.messages.setAttribute('aria-busy', 'true');
  for (const m of list) {
    if (!isMessage(m) || m.room !== state.room || state.seen.has(m.id)) continue;
    state.seen.add(m.id);
    const li = messageItem(m);
    insertById(li, m.id);
    state.lastId = Math.max(state.lastId, m.id);
    regroup(li);
    if (li.nextElementSibling) regroup(li.nextElementSibling);
    if (m.name === state.name) own = true;
  }
  if (bulk) ui.messages.removeAttribute('aria-busy');
  if (stick || own || bulk) scrollToBottom();
}

function insertById(li, id) {
  if (id > state.lastId) {
    ui.messages.append(li);
    return;
  }
  // Filling a gap: after the last shown message with a smaller id.
  for (let n = ui.messages.lastElementChild; n; n = n.previousElementSibling) {
    if (n.dataset.id && Number(n.dataset.id) < id) {
      n.after(li);
      return;
    }
  }
  ui.messages.prepend(li);
}

function messageItem(m) {
  const own = m.name === state.name;
  const li = make('li', own ? 'msg own' : 'msg');
  li.dataset.id = String(m.id);
  li.dataset.ts = String(m.ts);
  li.style.setProperty('--hue', String(nameHue(m.name)));
  const meta = make('div', 'meta');
  meta.append(make('span', 'name', m.name), timeElement(m.ts));
  if (!own) {
    const avatar = make('span', 'avatar', ([...m.name][0] || '?').toUpperCase());
    avatar.setAttribute('aria-hidden', 'true');
    li.append(avatar);
  }
  li.append(meta, make('p', 'bubble', m.text));
  return li;
}

// A stable color per name, so that people are told apart at a glance.
function nameHue(name) {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.codePointAt(0)) % 360;
  return h;
}

// A message right after another of the same person keeps a quieter header.
function regroup(li) {
  if (!li.dataset.id) return;
  const prev = li.previousElementSibling;
  const same = prev && prev.dataset.id &&
    prev.querySelector('.name').textContent === li.querySelector('.name').textContent &&
    Number(li.dataset.ts) - Number(prev.dataset.ts) < GROUP_GAP_MS;
  li.classList.toggle('cont', Boolean(same));
}

function addNotice(text, ts, kind) {
  const stick = nearBottom();
  const li = make('li', `notice ${kind}`);
  li.append(make('span', 'notice-text', text));
  if (Number.isFinite(ts)) li.append(timeElement(ts));
  ui.messages.append(li);
  if (stick) scrollToBottom();
}

/* ---------- typing ---------- */

function onTyping(e) {
  if (!e || e.room !== state.room || typeof e.name !== 'string' || e.name === state.name) return;
  if (e.typing) {
    clearTimeout(state.typers.get(e.name));
    state.typers.set(e.name, setTimeout(() => removeTyper(e.name), TYPING_EXPIRE_MS));
    renderTyping();
  } else {
    removeTyper(e.name);
  }
}

function removeTyper(name) {
  if (!state.typers.has(name)) return;
  clearTimeout(state.typers.get(name));
  state.typers.delete(name);
  renderTyping();
}

function clearTypers() {
  for (const t of state.typers.values()) clearTimeout(t);
  state.typers.clear();
  renderTyping();
}

function renderTyping() {
  const names = [...state.typers.keys()];
  let text = '';
  if (names.length === 1) text = `${names[0]} is typing…`;
  else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
  else if (names.length > 2) text = `${names[0]}, ${names[1]} and ${names.length - 2} more are typing…`;
  ui.typing.textContent = text;
}

function sendTyping(on) {
  const t = state.typing;
  t.active = on;
  t.sentAt = Date.now();
  if (state.socket && state.socket.connected) {
    state.socket.volatile.emit('typing', { room: state.room, typing: on });
  }
}

function noteTyping() {
  const t = state.typing;
  clearTimeout(t.idle);
  if (!ui.text.value.trim()) {
    stopTyping();
    return;
  }
  if (!t.active || Date.now() - t.sentAt > TYPING_REFRESH_MS) sendTyping(true);
  t.idle = setTimeout(stopTyping, TYPING_IDLE_MS);
}

function stopTyping(tell = true) {
  const t = state.typing;
  clearTimeout(t.idle);
  if (t.active && tell) sendTyping(false);
  t.active = false;
}

/* ---------- the composer ---------- */

function autosize() {
  ui.text.style.height = 'auto';
  ui.text.style.height = `${Math.min(ui.text.scrollHeight, 160)}px`;
}

function onComposerKey(e) {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    ui.composer.requestSubmit();
  }
}

function onComposerInput() {
  autosize();
  showSendError('');
  noteTyping();
}

async function onSend(e) {
  e.preventDefault();
  const text = ui.text.value.trim();
  if (!text) return;
  if (codePoints(text) > MAX_TEXT) {
    showSendError(`A message is at most ${MAX_TEXT} characters (this one has ${codePoints(text)}).`);
    return;
  }
  if (!state.socket || !state.socket.connected) {
    showSendError('Not connected: the message was not sent.');
    return;
  }
  stopTyping();
  ui.text.value = '';
  autosize();
  const res = await request('msg_to_server', { room: state.room, text });
  if (res.error || !res.ok) {
    showSendError(res.error || 'the message was not sent');
    if (!ui.text.value) {
      ui.text.value = text;
      autosize();
    }
  }
}

function showSendError(text) {
  clearTimeout(state.sendErrorTimer);
  ui.sendError.textContent = text;
  if (text) state.sendErrorTimer = setTimeout(() => { ui.sendError.textContent = ''; }, 8000);
}

/* ---------- start ---------- */

function start() {
  const rooms = load(STORE.rooms, []);
  state.rooms = [LOBBY, ...(Array.isArray(rooms) ? rooms : []).filter((r) => typeof r === 'string' &&
    ROOM_RE.test(r) && r !== LOBBY)];
  const room = load(STORE.room, LOBBY);
  state.room = typeof room === 'string' && state.rooms.includes(room) ? room : LOBBY;

  ui.loginForm.addEventListener('submit', onLoginSubmit);
  ui.changeName.addEventListener('click', onChangeName);
  ui.roomForm.addEventListener('submit', onRoomSubmit);
  ui.roomToggle.addEventListener('click', () => toggleRoomForm());
  ui.roomInput.addEventListener('input', clearRoomError);
  ui.composer.addEventListener('submit', onSend);
  ui.text.addEventListener('keydown', onComposerKey);
  ui.text.addEventListener('input', onComposerInput);

  setStatus('offline');
  const name = load(STORE.name, '');
  if (typeof io !== 'function') {
    showLogin('The Socket.IO client did not load (/socket.io/socket.io.js).');
    return;
  }
  if (typeof name === 'string' && name) {
    // Welcome back: the last name that the server accepted.
    ui.nameInput.value = name;
    setLoginBusy(true);
    connect(name);
  } else {
    ui.nameInput.focus();
  }
}

start();
