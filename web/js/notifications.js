// The notification bell: unread count and list, live from /ws/notifications (SPEC §5), read via the notifier.

import { api } from "./api.js";
import * as auth from "./auth.js";
import { CLOSE_UNAUTHORIZED, LiveSocket, wsBase } from "./socket.js";
import { describeError, formatDateTime, h, mount, toast } from "./ui.js";

const SHOWN_KEY = "bc:notif-shown";

// A new notification pops a toast in one tab only: the first tab to record its id in localStorage shows it.
function claimToast(id) {
  let shown = [];
  try {
    shown = JSON.parse(localStorage.getItem(SHOWN_KEY) || "[]");
  } catch {
    shown = [];
  }
  if (shown.includes(id)) return false;
  localStorage.setItem(SHOWN_KEY, JSON.stringify([...shown, id].slice(-200)));
  return true;
}

function bellIcon() {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "20");
  svg.setAttribute("height", "20");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", "M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2Z");
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}

export function createBell({ wsUrl, onUnauthorized, openTask }) {
  let items = [];
  let unread = 0;
  const badge = h("span", { class: "badge", hidden: true });
  const label = h("span", { class: "sr-only" }, "Notifications");
  const button = h("button", { class: "icon-btn bell", type: "button", "aria-haspopup": "true", "aria-expanded": "false",
    onclick: () => toggle() }, bellIcon(), label, badge);
  const list = h("ol", { class: "notif-list" });
  const menu = h("div", { class: "notif-menu", hidden: true, role: "region", "aria-label": "Notifications" },
    h("div", { class: "notif-head" }, h("strong", {}, "Notifications"),
      h("button", { class: "btn-link small", type: "button", onclick: readAll }, "Mark all read")),
    list);
  const root = h("div", { class: "bell-wrap" }, button, menu);

  function setUnread(n) {
    unread = Math.max(0, Number(n) || 0);
    badge.hidden = unread === 0;
    badge.textContent = unread > 99 ? "99+" : String(unread);
    label.textContent = `Notifications, ${unread} unread`;
    button.dataset.unread = String(unread);
  }

  function render() {
    mount(list, ...(items.length
      ? items.slice(0, 50).map((n) => h("li", { class: `notif${n.read_at ? "" : " unread"}` },
          h("button", { class: "notif-item", type: "button", onclick: () => open(n) },
            h("span", { class: "notif-title" }, n.title || n.kind),
            n.body && h("span", { class: "notif-body" }, n.body),
            h("time", { class: "muted small", datetime: n.created_at }, formatDateTime(n.created_at)))))
      : [h("li", { class: "muted notif-empty" }, "You are all caught up.")]));
  }

  function toggle(force) {
    const show = force ?? menu.hidden;
    menu.hidden = !show;
    button.setAttribute("aria-expanded", String(show));
    if (show) render();
  }

  async function open(n) {
    if (!n.read_at) {
      try {
        await api.markRead(n.id);
        n.read_at = new Date().toISOString();
        setUnread(unread - 1);
      } catch (err) {
        toast(describeError(err), { kind: "error" });
      }
    }
    toggle(false);
    if (n.project_id && n.task_id) openTask(n.project_id, n.task_id);
  }

  async function readAll() {
    try {
      await api.markAllRead();
      for (const n of items) n.read_at = n.read_at || new Date().toISOString();
      setUnread(0);
      render();
    } catch (err) {
      toast(describeError(err), { kind: "error" });
    }
  }

  let authRetried = false;
  const socket = new LiveSocket({
    url: () => `${wsBase(wsUrl)}/ws/notifications?${new URLSearchParams({ token: auth.token() || "" })}`,
    isReady: (m) => m?.type === "notifications_backlog",
    onStatus: (s) => button.classList.toggle("stale", s !== "live"),
    onFatal: (code) => {
      if (code !== CLOSE_UNAUTHORIZED) return;
      // As the board's socket does: one refresh and one more try (a laptop that slept past the token's
      // expiry), then the login page.
      if (authRetried || !auth.session()) return onUnauthorized();
      authRetried = true;
      auth
        .refreshNow({ force: true })
        .then(() => (auth.session() ? socket.retry() : onUnauthorized()))
        .catch(() => onUnauthorized());
    },
    onMessage: (m) => {
      if (m.type === "notifications_backlog") {
        authRetried = false;
        const known = new Map(items.map((n) => [n.id, n]));
        for (const n of m.items || []) known.set(n.id, n);
        items = [...known.values()].sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)));
        setUnread(m.unread_count);
      } else if (m.type === "notification" && m.notification) {
        const n = m.notification;
        if (items.some((x) => x.id === n.id)) return;
        items.unshift(n);
        if (!n.read_at) setUnread(unread + 1);
        if (claimToast(n.id)) toast(`New notification: ${n.title || n.kind}`, { timeout: 5000 });
      } else if (m.type === "unread_count") {
        setUnread(m.unread_count);
      }
      if (!menu.hidden) render();
    },
  });

  const outside = (e) => {
    if (!root.contains(e.target)) toggle(false);
  };
  document.addEventListener("click", outside);
  setUnread(0);
  socket.start();
  return {
    el: root,
    retry: () => socket.retry(),
    stop: () => {
      socket.stop();
      document.removeEventListener("click", outside);
    },
  };
}
