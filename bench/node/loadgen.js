// WebSocket load generator: holds many client sockets in one process and counts what they receive.
//
// One generator serves every system under test, so they are compared with the same client: a minimal
// WebSocket client on raw TCP sockets (below). It speaks plain WebSocket (our gateway, the naive FastAPI
// peer) or the socket.io v4 wire protocol over a WebSocket
// (Engine.IO "0" open, "40" namespace connect, "2"/"3" ping/pong, "42[...]" events) for the socket.io peers.
//
// Each benchmark message carries the marker `bench@<k>@<t_us>` (k: message number, t_us: CLOCK_MONOTONIC
// microseconds at publish, the clock Python's time.monotonic_ns() reads too). Every receiving socket counts it;
// every `sampleEvery`-th socket also records the latency now - t_us. When message k has reached every open
// socket, a `{"ev":"completed"}` line tells the harness, which uses it to keep a bounded window in flight.
//
// Control: the path of a config JSON file as argv[2]; commands as JSON lines on stdin; results as JSON lines on stdout.
"use strict";

const crypto = require("crypto");
const net = require("net");
const readline = require("readline");

const cfg = JSON.parse(require("fs").readFileSync(process.argv[2], "utf8"));
const MARKER = Buffer.from("bench@");
const sampleEvery = cfg.sampleEvery || 10;
const sio = cfg.protocol === "sio";

const sockets = [];
let open = 0;
let closedUnexpectedly = 0;
const closeCodes = {};
let received = 0; // marker frames
let otherFrames = 0;
let firstUs = 0;
let lastUs = 0;
let latencies = [];
const counts = new Map(); // k -> sockets that received it
let completed = 0;
let minK = 0;
let stale = 0; // frames of an earlier run, arriving late
let closing = false;

const nowUs = () => Number(process.hrtime.bigint() / 1000n);
const emit = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

function parseMarker(buf) {
  const at = buf.indexOf(MARKER);
  if (at < 0) return null;
  let i = at + MARKER.length;
  let k = 0;
  while (buf[i] >= 48 && buf[i] <= 57) k = k * 10 + (buf[i++] - 48);
  i++; // '@'
  let t = 0;
  while (buf[i] >= 48 && buf[i] <= 57) t = t * 10 + (buf[i++] - 48);
  return [k, t];
}

function onFrame(idx, target, data, ws) {
  if (sio) {
    // Engine.IO ping: answer or the server drops us. "0{...}" is the open packet: join the namespace.
    if (data.length === 1 && data[0] === 0x32) return ws.send("3");
    if (data[0] === 0x30) return ws.send(target.sioAuth ? "40" + JSON.stringify(target.sioAuth) : "40");
  }
  const m = parseMarker(data);
  if (m === null) {
    otherFrames++;
    return;
  }
  if (m[0] < minK) {
    stale++;
    return;
  }
  const t = nowUs();
  received++;
  if (firstUs === 0) firstUs = t;
  lastUs = t;
  if (idx % sampleEvery === 0) latencies.push(t - m[1]);
  const c = (counts.get(m[0]) || 0) + 1;
  if (c >= open) {
    counts.delete(m[0]);
    completed++;
    emit({ ev: "completed", k: m[0], completed });
  } else counts.set(m[0], c);
}

// A minimal WebSocket client on a raw TCP socket. The `ws` library's stream and event machinery costs more
// CPU per message than the servers under test spend sending it; this reads unmasked server frames straight
// out of each TCP chunk (no copy), which keeps the generator well below one core at 100k+ messages/s.
function sendFrame(sock, opcode, payload) {
  // Client frames must be masked; an all-zero mask key leaves the payload as it is (RFC 6455 5.3).
  const body = Buffer.from(payload);
  const head = body.length < 126 ? Buffer.from([0x80 | opcode, 0x80 | body.length, 0, 0, 0, 0]) : null;
  if (head === null) {
    const ext = Buffer.from([0x80 | opcode, 0x80 | 126, 0, 0, 0, 0, 0, 0]);
    ext.writeUInt16BE(body.length, 2);
    return sock.write(Buffer.concat([ext, body]));
  }
  return sock.write(Buffer.concat([head, body]));
}

function connectOne(idx, target) {
  return new Promise((resolve) => {
    const url = new URL(target.url);
    const sock = net.connect({ host: url.hostname, port: Number(url.port) });
    sock.setNoDelay(true);
    let settled = false;
    let upgraded = false;
    let wasOpen = false;
    let head = Buffer.alloc(0);
    let pending = null;
    const ws = { send: (text) => sendFrame(sock, 0x1, text) };
    const done = (ok, why) => {
      if (!settled) {
        settled = true;
        resolve([ok, why]);
      }
    };
    const timer = setTimeout(() => {
      done(false, "handshake_timeout");
      sock.destroy();
    }, 30000);

    const onClosed = (code) => {
      if (wasOpen) {
        wasOpen = false;
        open--;
        if (settled && !closing) {
          closedUnexpectedly++;
          closeCodes[code] = (closeCodes[code] || 0) + 1;
        }
      }
      clearTimeout(timer);
      done(false, "close_" + code);
    };

    const frames = (chunk) => {
      let buf = pending === null ? chunk : Buffer.concat([pending, chunk]);
      pending = null;
      let off = 0;
      const len = buf.length;
      while (len - off >= 2) {
        const opcode = buf[off] & 0x0f;
        let size = buf[off + 1] & 0x7f;
        let hdr = 2;
        if (size === 126) {
          if (len - off < 4) break;
          size = buf.readUInt16BE(off + 2);
          hdr = 4;
        } else if (size === 127) {
          if (len - off < 10) break;
          size = Number(buf.readBigUInt64BE(off + 2));
          hdr = 10;
        }
        if (len - off < hdr + size) break;
        const payload = buf.subarray(off + hdr, off + hdr + size);
        off += hdr + size;
        if (opcode === 0x1 || opcode === 0x2) {
          if (sio && !settled && payload[0] === 0x34 && payload[1] === 0x30) {
            clearTimeout(timer);
            done(true);
          } else onFrame(idx, target, payload, ws);
        } else if (opcode === 0x9) {
          sendFrame(sock, 0xa, payload);
        } else if (opcode === 0x8) {
          const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
          sendFrame(sock, 0x8, payload.subarray(0, 2));
          sock.end();
          onClosed(code);
        }
      }
      if (off < len) pending = buf.subarray(off);
    };

    sock.on("connect", () => {
      const key = crypto.randomBytes(16).toString("base64");
      const lines = [
        `GET ${url.pathname}${url.search} HTTP/1.1`,
        `Host: ${url.host}`,
        "Upgrade: websocket",
        "Connection: Upgrade",
        `Sec-WebSocket-Key: ${key}`,
        "Sec-WebSocket-Version: 13",
      ];
      if (target.subprotocols && target.subprotocols.length)
        lines.push(`Sec-WebSocket-Protocol: ${target.subprotocols.join(", ")}`);
      sock.write(lines.join("\r\n") + "\r\n\r\n");
    });
    sock.on("data", (chunk) => {
      if (upgraded) return frames(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      const status = head.subarray(0, head.indexOf("\r\n")).toString().split(" ")[1];
      if (status !== "101") {
        clearTimeout(timer);
        done(false, "http_" + status);
        return sock.destroy();
      }
      upgraded = true;
      wasOpen = true;
      open++;
      sockets.push(sock);
      if (!sio) {
        clearTimeout(timer);
        done(true);
      }
      const rest = head.subarray(end + 4);
      head = null;
      if (rest.length) frames(rest);
    });
    sock.on("error", (err) => {
      clearTimeout(timer);
      done(false, err.code || err.message);
    });
    sock.on("close", () => onClosed(1006));
  });
}

async function connectAll() {
  const started = Date.now();
  const jobs = [];
  for (const target of cfg.targets) for (let j = 0; j < target.count; j++) jobs.push(target);
  const errors = {};
  let ok = 0;
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const idx = next++;
      const [good, why] = await connectOne(idx, jobs[idx]);
      if (good) ok++;
      else errors[why] = (errors[why] || 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: Math.min(cfg.concurrency || 100, jobs.length) }, worker));
  emit({ ev: "connected", ok, failed: jobs.length - ok, errors, ms: Date.now() - started });
}

function command(line) {
  const cmd = JSON.parse(line);
  if (cmd.cmd === "reset") {
    // Messages numbered below minK belong to an earlier run that had not drained: not this run's to count.
    minK = cmd.min_k || 0;
    stale = 0;
    received = 0;
    otherFrames = 0;
    firstUs = 0;
    lastUs = 0;
    latencies = [];
    counts.clear();
    completed = 0;
    emit({ ev: "reset" });
  } else if (cmd.cmd === "report") {
    emit({
      ev: "report",
      open,
      received,
      stale,
      other: otherFrames,
      first_us: firstUs,
      last_us: lastUs,
      completed,
      closed_unexpectedly: closedUnexpectedly,
      close_codes: closeCodes,
      latencies_us: latencies,
    });
  } else if (cmd.cmd === "close") {
    closing = true;
    for (const sock of sockets) sock.destroy();
    emit({ ev: "closed" });
    setTimeout(() => process.exit(0), 50);
  }
}

readline.createInterface({ input: process.stdin }).on("line", command).on("close", () => process.exit(0));
connectAll();
