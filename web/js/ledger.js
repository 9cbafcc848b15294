// Exactly-once, in-order delivery of one project's events to this tab, shared with the other tabs of the browser.
//
// Events reach a tab two ways: its own WebSocket and a BroadcastChannel on which every tab re-posts what it
// applied (so a tab whose socket is reconnecting still keeps up). The ledger lets an event through only when
// its seq is the next one and its event_id is new; later seqs wait in `pending` until the gap is filled.
// localStorage keeps, per project, the recent event_ids and the seq high-water mark of the browser; where
// BroadcastChannel is missing, its `storage` events are the relay between tabs instead.

const KEEP_IDS = 500;
const MAX_PENDING = 1000;

export class EventLedger {
  /**
   * @param projectId the room
   * @param apply     called once per event, in seq order
   * @param onGap     called when pending grows past MAX_PENDING (the caller then refetches: resync)
   */
  constructor(projectId, { apply, onGap = () => {} }) {
    this.projectId = projectId;
    this.apply = apply;
    this.onGap = onGap;
    this.seq = 0;
    this.seen = new Set();
    this.order = [];
    this.pending = new Map();
    this.paused = false;
    this.channel = "BroadcastChannel" in window ? new BroadcastChannel(`bc:events:${projectId}`) : null;
    if (this.channel) this.channel.onmessage = (e) => this.offer(e.data, "tab");
    else {
      this.onStorage = (e) => {
        if (e.key !== this.#key() || !e.newValue) return;
        try {
          const last = JSON.parse(e.newValue).last;
          if (last) this.offer(last, "tab");
        } catch {
          /* a torn write from another tab: its next event carries on */
        }
      };
      window.addEventListener("storage", this.onStorage);
    }
  }

  /** Hold every event (socket and tabs alike) while a REST snapshot is being fetched. */
  pause() {
    this.paused = true;
  }

  /**
   * Start from a REST snapshot taken at `seq` and resume: held events after it are applied on top, in order.
   * The remembered ids are forgotten because they described the state the snapshot replaced; from here on
   * the seq rule drops anything the snapshot already holds.
   */
  reset(seq) {
    this.seq = Number(seq) || 0;
    this.seen.clear();
    this.order = [];
    for (const s of [...this.pending.keys()]) if (s <= this.seq) this.pending.delete(s);
    this.paused = false;
    this.#drain();
  }

  /** Offer an event from the socket or another tab. Returns true when it was applied now. */
  offer(ev, source = "socket") {
    if (!ev || typeof ev.seq !== "number" || !ev.event_id) return false;
    if (ev.project_id && ev.project_id !== this.projectId) return false;
    if (this.seen.has(ev.event_id) || ev.seq <= this.seq) return false;
    if (this.paused || ev.seq > this.seq + 1) {
      this.pending.set(ev.seq, ev);
      if (this.pending.size > MAX_PENDING) {
        this.pending.clear();
        this.onGap();
      }
      return false;
    }
    this.#applyOne(ev, source);
    this.#drain();
    return true;
  }

  #drain() {
    if (this.paused) return;
    let next;
    while ((next = this.pending.get(this.seq + 1))) {
      this.pending.delete(next.seq);
      if (!this.seen.has(next.event_id)) this.#applyOne(next, "pending");
      else this.seq = next.seq;
    }
  }

  #applyOne(ev, source) {
    this.seq = ev.seq;
    this.#remember(ev.event_id);
    if (source === "socket") this.channel?.postMessage(ev);
    this.apply(ev, source);
    this.#persist(ev);
  }

  #remember(id) {
    this.seen.add(id);
    this.order.push(id);
    if (this.order.length > KEEP_IDS) this.seen.delete(this.order.shift());
  }

  #key() {
    return `bc:ledger:${this.projectId}`;
  }

  #read() {
    try {
      return JSON.parse(localStorage.getItem(this.#key()) || "null") || { seq: 0, ids: [] };
    } catch {
      return { seq: 0, ids: [] };
    }
  }

  #persist(ev) {
    const shared = this.#read();
    shared.seq = Math.max(shared.seq || 0, ev.seq);
    if (!shared.ids.includes(ev.event_id)) shared.ids = [...shared.ids, ev.event_id].slice(-KEEP_IDS);
    if (!this.channel) shared.last = ev; // the storage-event relay
    try {
      localStorage.setItem(this.#key(), JSON.stringify(shared));
    } catch {
      /* storage full or disabled: the in-memory ledger still guards this tab */
    }
  }

  close() {
    this.channel?.close();
    this.channel = null;
    if (this.onStorage) window.removeEventListener("storage", this.onStorage);
  }
}
