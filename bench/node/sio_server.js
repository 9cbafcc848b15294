// Peer (c): Node socket.io with @socket.io/redis-adapter, one process, WebSocket transport only.
//
// A client joins the room named in its namespace-connect auth ({"room": "..."}). Messages reach the room the
// way socket.io apps receive them from other processes: a publisher writes into the adapter's Redis pub/sub
// channel (what @socket.io/redis-emitter does), and this process fans them out to its sockets.
//
// Usage: node sio_server.js <port> <redis_url>
"use strict";

const http = require("http");
const { Server } = require("socket.io");
const { createAdapter } = require("@socket.io/redis-adapter");
const { createClient } = require("redis");

async function main() {
  const port = Number(process.argv[2]);
  const redisUrl = process.argv[3];
  const pub = createClient({ url: redisUrl });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);

  const httpServer = http.createServer((req, res) => {
    if (req.url === "/healthz") {
      res.writeHead(200).end("ok");
      return;
    }
    res.writeHead(404).end();
  });
  const io = new Server(httpServer, {
    transports: ["websocket"],
    perMessageDeflate: false,
    maxHttpBufferSize: 64 * 1024,
  });
  io.adapter(createAdapter(pub, sub));
  io.on("connection", (socket) => {
    const room = socket.handshake.auth && socket.handshake.auth.room;
    if (typeof room === "string") socket.join(room);
  });
  httpServer.listen(port, "127.0.0.1", () => console.log(`sio peer listening on 127.0.0.1:${port}`));

  const stop = () => {
    io.close();
    Promise.allSettled([pub.quit(), sub.quit()]).then(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
