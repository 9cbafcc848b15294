// One project's live feed: the room WebSocket (SPEC §5), resume with since, resync, and the exactly-once ledger.

import { api } from "./api.js";
import * as auth from "./auth.js";
import { EventLedger } from "./ledger.js";
import { CLOSE_FORBIDDEN, CLOSE_UNAUTHORIZED, LiveSocket, wsBase } from "./socket.js";

/**
 * Keeps `store` in step with the server. Callbacks: onStatus(status), onEvent(ev, source) after it is applied,
 * onRevoked(message), onUnauthorized().
 */
export class ProjectLive {
  constructor({ projectId, store, wsUrl, onStatus, onEvent = () => {}, onRevoked, onUnauthorized }) {
    Object.assign(this, { projectId, store, wsUrl, onStatus, onEvent, onRevoked, onUnauthorized });
    this.resyncing = null;
    this.ledger = new EventLedger(projectId, {
      apply: (ev, source) => {
        store.applyEvent(ev);
        onEvent(ev, source);
      },
      onGap: () => this.resync(),
    });
    this.socket = new LiveSocket({
      url: () => this.#url(),
      isReady: (msg) => msg?.type === "hello",
      onMessage: (msg) => this.#message(msg),
      onStatus: (s) => this.onStatus(s),
      onFatal: (code) => this.#fatal(code),
    });
  }

  /** Load the board over REST, then open the socket resuming from the snapshot's seq. */
  async start() {
    await this.#snapshot();
    this.loaded = true;
    this.socket.start();
  }

  /** The Retry button: a fresh budget of reconnect tries (and the first load again, if that is what failed). */
  retry() {
    if (this.loaded) this.socket.retry();
    else return this.start();
  }

  stop() {
    this.stopped = true;
    this.socket.stop();
    this.ledger.close();
  }

  #url() {
    // Always resume, even from 0: an event committed between the snapshot and this connect must be replayed.
    const params = new URLSearchParams({ token: auth.token() || "", since: String(this.ledger.seq) });
    return `${wsBase(this.wsUrl)}/ws/projects/${encodeURIComponent(this.projectId)}?${params}`;
  }

  // The project's seq is read before the tasks: every event after it is replayed on top, and task events
  // that the task list already reflects are dropped by their version.
  async #snapshot() {
    this.ledger.pause();
    const project = await api.project(this.projectId);
    const [tasks, members] = await Promise.all([api.tasks(this.projectId), api.members(this.projectId).catch(() => [])]);
    this.store.project = { ...this.store.project, ...project };
    this.store.setMembers(members);
    this.store.load(tasks);
    this.ledger.reset(project.seq || 0);
    return project;
  }

  /** Refetch over REST (resync_required, or a gap the ledger cannot fill); events arriving meanwhile wait
   *  in the paused ledger and are applied on top of the new snapshot. */
  async resync() {
    if (this.resyncing) {
      this.again = true; // asked again mid-fetch (the ledger overflowed): one more snapshot after this one
      return this.resyncing;
    }
    this.resyncing = (async () => {
      try {
        do {
          this.again = false;
          while (!this.stopped) {
            try {
              await this.#snapshot();
              break;
            } catch (err) {
              if (err?.status === 401 || err?.status === 403 || err?.status === 404) throw err;
              await new Promise((r) => setTimeout(r, 1000));
            }
          }
        } while (this.again && !this.stopped);
      } finally {
        this.resyncing = null;
      }
    })().catch((err) => {
      if (err?.status === 401) this.onUnauthorized();
      else this.onRevoked("You no longer have access to this project.");
    });
    return this.resyncing;
  }

  #message(msg) {
    switch (msg?.type) {
      case "hello":
        this.authRetried = false;
        this.store.setPresence(msg.presence);
        // We asked for since=seq; a server that cannot serve it says resync_required next.
        break;
      case "presence":
        this.store.setPresence(msg.presence);
        break;
      case "resync_required":
        this.resync();
        break;
      case "access_revoked":
        this.socket.stop();
        this.onRevoked("Your access to this project was removed.");
        break;
      case "error":
        console.warn("gateway error", msg);
        break;
      default:
        if (msg && msg.event_id) this.ledger.offer(msg, "socket");
    }
  }

  #fatal(code) {
    if (code === CLOSE_UNAUTHORIZED) {
      // The token may have expired under a sleeping laptop: one refresh and one more try, then the login page.
      if (this.authRetried || !auth.session()) return this.onUnauthorized();
      this.authRetried = true;
      auth
        .refreshNow({ force: true })
        .then(() => (auth.session() ? this.socket.retry() : this.onUnauthorized()))
        .catch(() => this.onUnauthorized());
    } else if (code === CLOSE_FORBIDDEN) {
      this.onRevoked("You are not a member of this project (any more).");
    }
  }
}
