# chat_original.py - the shape of the Python chat that socketio-c's chat app
# replaces: python-socketio's AsyncServer attached to an aiohttp application,
# handlers on namespace /chat. A sketch for comparison (the docs build checks
# that it compiles); examples/chat/ is the real app.
import socketio
from aiohttp import web

sio = socketio.AsyncServer(async_mode="aiohttp")
app = web.Application()
sio.attach(app)

names = {}


async def index(request):
    return web.FileResponse("client/index.html")


@sio.on("connect", namespace="/chat")
async def connect(sid, environ, auth):
    name = (auth or {}).get("name", "").strip()
    if not 1 <= len(name) <= 32:
        raise socketio.exceptions.ConnectionRefusedError("name required")
    names[sid] = name
    sio.enter_room(sid, "lobby", namespace="/chat")


@sio.on("msg_to_server", namespace="/chat")
async def msg_to_server(sid, data):
    if not isinstance(data, dict) or not str(data.get("text", "")).strip():
        await sio.disconnect(sid, namespace="/chat")
        return
    message = {"room": data["room"], "name": names[sid], "text": data["text"]}
    await sio.emit("msg_to_client", message, to=data["room"], namespace="/chat")
    return {"ok": True}


@sio.on("disconnect", namespace="/chat")
async def disconnect(sid):
    names.pop(sid, None)


app.router.add_get("/", index)
app.router.add_static("/", "client")

if __name__ == "__main__":
    web.run_app(app, port=8080)
