#!/usr/bin/python3
"""python-socketio's AsyncClient (Debian python3-socketio) against the test
server (tests/helpers/sio_test_server): the "/chat" namespace over polling, websocket
and the default upgrade - msg_to_server -> msg_to_client to everyone, echo
with an acknowledgement (call), join + to_room, bin_echo with bytes - and the
"auth" event of "/". The server binary is started here (SIO_BIN_DIR, --port
0, "listening on N") and stopped with SIGTERM: its exit code must be 0 (under
ASan: no leak). Prints "N passed, N failed"; exits non-zero on a failure.
"""
import asyncio
import os
import signal
import sys
import time
import traceback

import socketio

BIN_DIR = os.environ.get("SIO_BIN_DIR", os.path.join(os.getcwd(), "build", "asan", "bin"))
TIMEOUT = 5.0
# python-engineio's client refuses a polling payload of more than 16 packets
# (Payload.max_decode_packets, a known limitation that the Node and Python
# servers share with ours: they batch whatever is queued), so bursts stay under it.
BURST = 10
MODES = [("polling", ["polling"]), ("websocket", ["websocket"]), ("upgrade", ["polling", "websocket"])]


class Server:
    """The sio-test-server process; its stdout is read until it ends."""

    async def start(self, *args):
        self.proc = await asyncio.create_subprocess_exec(
            os.path.join(BIN_DIR, "sio-test-server"), "--port", "0", *args,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        self.lines = []
        line = await asyncio.wait_for(self.proc.stdout.readline(), 15)
        text = line.decode().strip()
        if not text.startswith("listening on "):
            raise RuntimeError("server did not start: %r" % text)
        self.port = int(text.split()[-1])
        self.url = "http://127.0.0.1:%d" % self.port
        self.reader = asyncio.ensure_future(self._read())
        self.errors = asyncio.ensure_future(self.proc.stderr.read())
        return self

    async def _read(self):
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                return
            self.lines.append(line.decode().rstrip("\n"))

    async def stop(self):
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(self.proc.wait(), 15)
        except asyncio.TimeoutError:
            self.proc.kill()
            code = await self.proc.wait()
        await self.reader
        err = await self.errors
        if code != 0:
            sys.stderr.write("--- sio-test-server stderr ---\n%s\n" % err.decode(errors="replace"))
        return code


class Events:
    """Collects the events a client receives, by name."""

    def __init__(self, client, names, namespace):
        self.got = {n: [] for n in names}
        self.cond = asyncio.Condition()
        for n in names:
            client.on(n, self._handler(n), namespace=namespace)

    def _handler(self, name):
        async def handler(*args):
            async with self.cond:
                self.got[name].append(list(args))
                self.cond.notify_all()
        return handler

    async def wait(self, name, count=1, timeout=TIMEOUT):
        async with self.cond:
            await asyncio.wait_for(self.cond.wait_for(lambda: len(self.got[name]) >= count), timeout)
        return self.got[name]


async def new_client(url, transports, namespaces=("/chat",), auth=None, events=(), ns="/chat"):
    c = socketio.AsyncClient(reconnection=False)
    ev = Events(c, events, ns)
    await c.connect(url, namespaces=list(namespaces), transports=transports, auth=auth,
                    wait_timeout=TIMEOUT)
    return c, ev


async def check_broadcast(url, transports):
    """msg_to_server(data) -> msg_to_client(data) to every client of /chat, the sender included."""
    a, ea = await new_client(url, transports, events=["msg_to_client"])
    b, eb = await new_client(url, transports, events=["msg_to_client"])
    try:
        data = {"text": "héllo ✓ 😀", "n": [1, 2.5, None, True], "nested": {"k": "v"}}
        await a.emit("msg_to_server", data, namespace="/chat")
        for ev in (ea, eb):
            got = await ev.wait("msg_to_client")
            assert got[-1] == [data], got
        for i in range(BURST):
            await b.emit("msg_to_server", {"i": i}, namespace="/chat")
        got = await ea.wait("msg_to_client", BURST + 1)
        assert [g[0]["i"] for g in got[1:]] == list(range(BURST)), "in order"
    finally:
        await a.disconnect()
        await b.disconnect()


async def check_echo(url, transports):
    """echo(...args) is acknowledged with the same arguments (call waits for it)."""
    c, _ = await new_client(url, transports)
    try:
        assert await c.call("echo", "one", namespace="/chat", timeout=TIMEOUT) == "one"
        res = await c.call("echo", (1, "two", {"three": [3]}, None), namespace="/chat", timeout=TIMEOUT)
        assert res == (1, "two", {"three": [3]}, None), res
        big = "x" * 200000
        assert await c.call("echo", big, namespace="/chat", timeout=TIMEOUT) == big
        results = await asyncio.gather(*[c.call("echo", i, namespace="/chat", timeout=TIMEOUT) for i in range(BURST)])
        assert list(results) == list(range(BURST)), results
        # an acknowledgement callback instead of call()
        done = asyncio.get_running_loop().create_future()
        await c.emit("echo", ("cb", 2), namespace="/chat", callback=lambda *a: done.set_result(a))
        assert await asyncio.wait_for(done, TIMEOUT) == ("cb", 2)
    finally:
        await c.disconnect()


async def check_rooms(url, transports, tag):
    """join(room) -> ack(True); to_room(room, data) -> room_msg(data) to that room only."""
    a, ea = await new_client(url, transports, events=["room_msg"])
    b, eb = await new_client(url, transports, events=["room_msg"])
    c, ec = await new_client(url, transports, events=["room_msg"])
    room = "room-" + tag
    try:
        assert await a.call("join", room, namespace="/chat", timeout=TIMEOUT) is True
        assert await b.call("join", room, namespace="/chat", timeout=TIMEOUT) is True
        await c.emit("to_room", (room, {"hello": room}), namespace="/chat")
        for ev in (ea, eb):
            got = await ev.wait("room_msg")
            assert got == [[{"hello": room}]], got
        # c is not in the room: a message to c's own... nothing; check after a round trip
        assert await c.call("echo", "sync", namespace="/chat", timeout=TIMEOUT) == "sync"
        await asyncio.sleep(0.1)
        assert ec.got["room_msg"] == [], ec.got
    finally:
        for x in (a, b, c):
            await x.disconnect()


async def check_binary(url, transports):
    """bin_echo(bytes) -> ack(bytes), binary both ways."""
    c, _ = await new_client(url, transports)
    try:
        for data in (b"\x00\x01\x02\xff", bytes(range(256)) * 40, b""):
            res = await c.call("bin_echo", data, namespace="/chat", timeout=TIMEOUT)
            assert isinstance(res, (bytes, bytearray)) and bytes(res) == data, (len(data), res[:20] if res else res)
        res = await c.call("bin_echo", {"blob": b"\x10\x20", "list": [b"\x30", "text"]}, namespace="/chat", timeout=TIMEOUT)
        assert res == {"blob": b"\x10\x20", "list": [b"\x30", "text"]}, res
    finally:
        await c.disconnect()


async def check_auth(url, transports):
    """Connecting to "/" with an auth payload: the server emits it back as "auth"; "/chat" on the same connection."""
    c = socketio.AsyncClient(reconnection=False)
    ev = Events(c, ["auth"], "/")
    await c.connect(url, namespaces=["/", "/chat"], transports=transports,
                    auth={"token": "py", "n": [1]}, wait_timeout=TIMEOUT)
    try:
        got = await ev.wait("auth")
        assert got == [[{"token": "py", "n": [1]}]], got
        assert sorted(c.namespaces) == ["/", "/chat"], c.namespaces
        assert await c.call("echo", "both", namespace="/chat", timeout=TIMEOUT) == "both"
        if transports == ["polling", "websocket"]:
            for _ in range(50):
                if c.transport() == "websocket":
                    break
                await asyncio.sleep(0.05)
            assert c.transport() == "websocket", c.transport()
        else:
            assert c.transport() == transports[0]
    finally:
        await c.disconnect()


async def main():
    passed = failed = 0
    # a heartbeat that tolerates a loaded machine (the default 300/200 ms is the protocol suite's)
    server = await Server().start("--ping-interval", "2000", "--ping-timeout", "3000")
    try:
        for name, transports in MODES:
            checks = [
                ("auth", lambda: check_auth(server.url, transports)),
                ("msg_to_server/msg_to_client", lambda: check_broadcast(server.url, transports)),
                ("echo with ack", lambda: check_echo(server.url, transports)),
                ("join + to_room", lambda: check_rooms(server.url, transports, name)),
                ("bin_echo with bytes", lambda: check_binary(server.url, transports)),
            ]
            for label, check in checks:
                t0 = time.monotonic()
                try:
                    await asyncio.wait_for(check(), 30)
                    passed += 1
                    print("ok   %s: %s (%.0f ms)" % (name, label, (time.monotonic() - t0) * 1000))
                except Exception:
                    failed += 1
                    print("FAIL %s: %s" % (name, label))
                    traceback.print_exc()
    finally:
        code = await server.stop()
    if code == 0:
        passed += 1
        print("ok   server exits 0 on SIGTERM")
    else:
        failed += 1
        print("FAIL server exit code %s" % code)
    # (python-socketio queues DISCONNECT and aborts the transport at once: the
    # packet may or may not get there first; an aborted GET is a transport error)
    reasons = [l for l in server.lines if l.startswith("disconnect /chat ")]
    allowed = ("client namespace disconnect", "transport close", "transport error")
    if len(reasons) == 3 * 8 and all(l.endswith(allowed) for l in reasons):  # 8 /chat clients per mode
        passed += 1
        print("ok   the server saw every /chat client leave (%d)" % len(reasons))
    else:
        failed += 1
        print("FAIL disconnect reasons: %s" % reasons)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
