// The benchmark workload on Node.js socket.io 4.x (the npm package of the
// repository's package-lock.json): namespace /chat,
//   msg_to_server(data)  -> msg_to_client(data) to every socket of /chat
//   echo(...args, ack)   -> ack(...args)
// Usage: node bench/peers/node-server.mjs --port N   (prints "listening on PORT")
import http from 'node:http';
import { Server } from 'socket.io';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
};
const port = Number(arg('--port', 3000));

const httpServer = http.createServer();
const io = new Server(httpServer, {
  pingInterval: 25000,
  pingTimeout: 20000,
  connectTimeout: 45000,
  serveClient: false,
  perMessageDeflate: false,
  httpCompression: false,
  maxHttpBufferSize: 1e6,
});
const chat = io.of('/chat');
chat.on('connection', (socket) => {
  socket.on('msg_to_server', (data) => chat.emit('msg_to_client', data));
  socket.on('echo', (...args) => {
    const ack = args.pop();
    if (typeof ack === 'function') ack(...args);
  });
});

httpServer.listen({ port, host: '127.0.0.1', backlog: 4096 }, () => {
  console.log(`listening on ${httpServer.address().port}`);
});
const stop = () => io.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
