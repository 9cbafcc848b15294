// A reconnecting WebSocket: exponential backoff with jitter, at most N tries, then Offline until retry().

import * as auth from "./auth.js";

export const CLOSE_UNAUTHORIZED = 4401;
export const CLOSE_FORBIDDEN = 4403;

/**
 * Status values passed to onStatus: "connecting" (first attempt), "live" (open and greeted),
 * "reconnecting" (lost; next attempt scheduled or under way), "offline" (gave up; call retry()), "closed".
 *
 * `url()` is called before every attempt, so each reconnect carries the current token and `since`.
 * `isReady(msg)` tells which first message means the connection is usable; until then a drop counts as
 * a failed attempt, so a server that accepts and immediately closes us cannot make us retry forever.
 */
export class LiveSocket {
  constructor({ url, onMessage, onStatus = () => {}, onFatal = () => {}, isReady = () => true,
                maxTries = 5, baseDelay = 500, maxDelay = 10_000, pingEvery = 25_000, pongTimeout = 10_000,
                readyTimeout = 10_000 }) {
    Object.assign(this, { url, onMessage, onStatus, onFatal, isReady, maxTries, baseDelay, maxDelay,
                          pingEvery, pongTimeout, readyTimeout });
    this.ws = null;
    this.failures = 0;
    this.status = "idle";
    this.stopped = false;
    this.timers = {};
    // Back on the network while Offline or between tries: try now instead of waiting out the backoff.
    this.onOnline = () => {
      if (!this.stopped && (this.status === "offline" || this.status === "reconnecting")) this.retry();
    };
  }

  start() {
    this.stopped = false;
    this.failures = 0;
    window.addEventListener("online", this.onOnline);
    // A refreshed token (this tab's timer or another tab's) goes to the open socket too, so the gateway moves
    // the socket's expiry instead of closing it 4401 when the token it was opened with runs out.
    this.offAuth?.();
    this.offAuth = auth.onChange((s) => {
      if (s?.token && this.status === "live") this.send({ type: "auth", token: s.token });
    });
    this.#setStatus("connecting");
    this.#open();
  }

  /** Manual retry from the Offline state: a fresh budget of tries. */
  retry() {
    this.#clearTimers();
    this.#dropSocket();
    this.start();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener("online", this.onOnline);
    this.offAuth?.();
    this.offAuth = null;
    this.#clearTimers();
    this.#dropSocket();
    this.#setStatus("closed");
  }

  send(obj) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(obj));
  }

  /** The delay before attempt n (1-based): "equal jitter", half fixed and half random, capped. */
  static backoff(n, base = 500, cap = 10_000) {
    const ceiling = Math.min(cap, base * 2 ** (n - 1));
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  #open() {
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch {
      this.#lost(1006); // a malformed URL: count it as a failed try like any other
      return;
    }
    this.ws = ws;
    let ready = false;
    // Connected but never greeted (a stuck upgrade, a proxy holding the line): give up on this attempt.
    this.timers.ready = setTimeout(() => this.#abandon(), this.readyTimeout);
    ws.onmessage = (e) => {
      this.#heard();
      let msg;
      try {
        msg = JSON.parse(e.data);
      } catch {
        return; // not ours to crash on; the server never sends non-JSON
      }
      if (msg?.type === "pong" || msg?.type === "auth_ok") return;
      if (!ready && this.isReady(msg)) {
        ready = true;
        clearTimeout(this.timers.ready);
        this.failures = 0;
        this.#setStatus("live");
        this.#schedulePing();
      }
      this.onMessage(msg);
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return; // an old socket we already replaced
      this.ws = null;
      this.#clearTimers();
      this.#lost(e.code, e.reason);
    };
    ws.onerror = () => {}; // onclose follows and decides
  }

  #lost(code, reason) {
    if (this.stopped) return;
    if (code === CLOSE_UNAUTHORIZED || code === CLOSE_FORBIDDEN) {
      this.stopped = true;
      window.removeEventListener("online", this.onOnline);
      this.#setStatus("closed");
      this.onFatal(code, reason);
      return;
    }
    this.failures += 1;
    if (this.failures > this.maxTries) {
      this.#setStatus("offline");
      return;
    }
    this.#setStatus("reconnecting");
    const delay = LiveSocket.backoff(this.failures, this.baseDelay, this.maxDelay);
    this.timers.retry = setTimeout(() => this.#open(), delay);
  }

  // Our own ping: a half-open TCP connection (laptop sleep, Wi-Fi change) only shows up when nothing answers.
  #schedulePing() {
    clearTimeout(this.timers.ping);
    this.timers.ping = setTimeout(() => {
      this.send({ type: "ping" });
      // A dead link cannot finish a close handshake either: drop the socket and count it as lost at once.
      this.timers.pong = setTimeout(() => this.#abandon(), this.pongTimeout);
    }, this.pingEvery);
  }

  #heard() {
    clearTimeout(this.timers.pong);
    if (this.status === "live") this.#schedulePing();
  }

  #abandon() {
    this.#dropSocket();
    this.#clearTimers();
    this.#lost(1006);
  }

  #dropSocket() {
    if (!this.ws) return;
    const ws = this.ws;
    this.ws = null;
    ws.onclose = ws.onmessage = ws.onerror = null;
    try {
      ws.close(1000);
    } catch {
      /* already closed */
    }
  }

  #clearTimers() {
    for (const t of Object.values(this.timers)) clearTimeout(t);
    this.timers = {};
  }

  #setStatus(s) {
    if (s === this.status) return;
    this.status = s;
    this.onStatus(s);
  }
}

/** The gateway base URL: /api/config's ws_url, or this page's origin with ws(s)://. */
export function wsBase(configured) {
  if (configured) return configured.replace(/\/+$/, "");
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}`;
}
