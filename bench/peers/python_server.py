"""The benchmark workload on python-socketio 5 + aiohttp (Debian's
python3-socketio and python3-aiohttp; run with /usr/bin/python3): namespace /chat,
  msg_to_server(data)  -> msg_to_client(data) to every socket of /chat
  echo(*args) with ack -> ack(*args)   (the handler's return value is the ack)
Usage: /usr/bin/python3 bench/peers/python_server.py --port N   (prints "listening on PORT")
"""
import argparse
import asyncio
import signal
import sys

import socketio
from aiohttp import web

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, default=3000)
args = parser.parse_args()

sio = socketio.AsyncServer(
    async_mode="aiohttp",
    ping_interval=25,
    ping_timeout=20,
    max_http_buffer_size=1_000_000,
    cors_allowed_origins="*",
    logger=False,
    engineio_logger=False,
)
app = web.Application()
sio.attach(app)


@sio.on("msg_to_server", namespace="/chat")
async def msg_to_server(sid, data):
    await sio.emit("msg_to_client", data, namespace="/chat")


@sio.on("echo", namespace="/chat")
async def echo(sid, *data):
    # the tuple becomes the acknowledgement's arguments
    return data if len(data) != 1 else data[0]


@sio.on("connect", namespace="/chat")
async def connect(sid, environ, auth=None):
    return True


async def main():
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", args.port, backlog=4096)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    print(f"listening on {port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, stop.set)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
