// Prints what @socket.io/redis-emitter would publish for one event to one room, as JSON {channel, hex}.
// The harness writes those bytes itself (from Python, with msgpack); a test compares the two.
//
// Usage: node emitter_bytes.js <room> <json payload>
"use strict";

const { Emitter } = require("@socket.io/redis-emitter");

const published = [];
const fakeRedis = { publish: (channel, msg) => published.push({ channel, hex: Buffer.from(msg).toString("hex") }) };
new Emitter(fakeRedis).to(process.argv[2]).emit("event", JSON.parse(process.argv[3]));
process.stdout.write(JSON.stringify(published[0]) + "\n");
