// WebSocket load generator: holds many client sockets in one process and counts what they receive.
//
// One generator serves every system under test, so they are compared with the same client. It speaks raw
// WebSocket (our gateway, the naive FastAPI peer) or the socket.io v4 wire protocol over a WebSocket
// (Engine.IO "0" open, "40" namespace connect, "2"/"3" ping/pong, "42[...]" events) for the socket.io peers.
//
// Each benchmark message carries the marker `bench@<k>@<t_us>` (k: message number, t_us: CLOCK_MONOTONIC
// microseconds at publish, the clock Python's time.monotonic_ns() reads too). Every receiving socket counts it;
// every `sampleEvery`-th socket also records the latency now - t_us. When message k has reached every open
// socket, a `{"ev":"completed"}` line tells the harness, which uses it to keep a bounded window in flight.
//
// Control: config JSON as argv[2]; commands as JSON lines on stdin; results as JSON lines on stdout.
"use strict";

const WebSocket = require("ws");
const readline = require("readline");

const cfg = JSON.parse(process.argv[2]);
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

function connectOne(idx, target) {
  return new Promise((resolve) => {
    const ws = new WebSocket(target.url, target.subprotocols || [], {
      headers: target.headers || {},
      perMessageDeflate: false,
      skipUTF8Validation: true, // the generator only counts; validating text would cost more than the count
      handshakeTimeout: 30000,
    });
    let settled = false;
    const done = (ok, why) => {
      if (!settled) {
        settled = true;
        resolve([ok, why]);
      }
    };
    ws.on("open", () => {
      ws.wasOpen = true;
      open++;
      sockets.push(ws);
      if (!sio) return done(true);
    });
    ws.on("message", (data) => {
      if (sio && !settled && data[0] === 0x34 && data[1] === 0x30) return done(true);
      onFrame(idx, target, data, ws);
    });
    ws.on("unexpected-response", (_req, res) => {
      done(false, "http_" + res.statusCode);
      res.resume();
      ws.terminate();
    });
    ws.on("error", (err) => done(false, err.code || err.message));
    ws.on("close", (code) => {
      if (ws.wasOpen) {
        open--;
        if (settled && !closing) {
          closedUnexpectedly++;
          closeCodes[code] = (closeCodes[code] || 0) + 1;
        }
      }
      done(false, "close_" + code);
    });
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
    for (const ws of sockets) ws.terminate();
    emit({ ev: "closed" });
    setTimeout(() => process.exit(0), 50);
  }
}

readline.createInterface({ input: process.stdin }).on("line", command).on("close", () => process.exit(0));
connectAll();
