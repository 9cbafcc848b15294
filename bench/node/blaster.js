// Calibration server: the cheapest fan-out there is, to measure what the load generator itself costs.
//
// Accepts plain WebSocket upgrades on /ws/<room>, subscribes the Redis channel `bench:blaster:<room>` once
// per room, and writes each message as one pre-built text frame to every socket of the room. Nothing is
// parsed or re-encoded, so the generator's CPU per delivery measured against it is the generator's own.
//
// Usage: node blaster.js <port> <redis_url>
"use strict";

const crypto = require("crypto");
const http = require("http");
const { createClient } = require("redis");

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

async function main() {
  const port = Number(process.argv[2]);
  const sub = createClient({ url: process.argv[3] });
  await sub.connect();
  const rooms = new Map(); // room -> Set of sockets

  const frameOf = (payload) => {
    const n = payload.length;
    const head = n < 126 ? Buffer.from([0x81, n]) : Buffer.from([0x81, 126, n >> 8, n & 0xff]);
    return Buffer.concat([head, payload]);
  };

  const server = http.createServer((req, res) => res.writeHead(req.url === "/healthz" ? 200 : 404).end());
  server.on("upgrade", async (req, socket) => {
    const room = req.url.split("/")[2] || "";
    const accept = crypto.createHash("sha1").update(req.headers["sec-websocket-key"] + GUID).digest("base64");
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    socket.setNoDelay(true);
    socket.on("error", () => socket.destroy());
    socket.on("data", () => {}); // client frames (pongs, closes) are ignored
    if (!rooms.has(room)) {
      rooms.set(room, new Set());
      await sub.subscribe(`bench:blaster:${room}`, (message) => {
        const frame = frameOf(message);
        for (const s of rooms.get(room)) s.write(frame);
      }, true);
    }
    const members = rooms.get(room);
    members.add(socket);
    socket.on("close", () => members.delete(socket));
  });
  server.listen(port, "127.0.0.1");
  const stop = () => process.exit(0);
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
