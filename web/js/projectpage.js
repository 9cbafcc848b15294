// One project's page: header (views, live indicator, presence), the board or a report view, the task panel.

import { api } from "./api.js";
import { renderBoard } from "./board.js";
import { ProjectLive } from "./live.js";
import { renderMembers } from "./members.js";
import { renderHeatmap, renderWeeklyReport, renderWorkload } from "./reports.js";
import { newTaskDialog, trashDialog } from "./dialogs.js";
import { BoardStore } from "./store.js";
import { openTaskPanel } from "./taskpanel.js";
import { avatar, claim, describeError, formatDateTime, h, mount, toast } from "./ui.js";

const VIEWS = [
  ["board", "Board"],
  ["report", "Weekly report"],
  ["workload", "Workload"],
  ["heatmap", "Heatmap"],
  ["members", "Members"],
];

const STATUS_TEXT = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", offline: "Offline", closed: "Offline" };

export function createProjectPage(root, { projectId, me, config, navigate, onUnauthorized }) {
  const store = new BoardStore({ id: projectId, name: "", role: "viewer" });
  const canEdit = () => store.project.role === "owner" || store.project.role === "editor";
  const isOwner = () => store.project.role === "owner";
  let view = null;
  let board = null;
  let panel = null;
  let stopped = false;

  // ---------------------------------------------------------------- header pieces
  const title = h("h1", { class: "project-title" }, "…");
  const roleTag = h("span", { class: "role" });
  const statusText = h("span", { class: "live-text" }, "Connecting…");
  const retryBtn = h("button", { class: "btn btn-small", type: "button", hidden: true, onclick: () => retry() }, "Retry");
  const liveBox = h("div", { class: "live", role: "status", "aria-live": "polite", dataset: { status: "connecting" } },
    h("span", { class: "dot", "aria-hidden": "true" }), statusText, retryBtn);
  const presenceBox = h("div", { class: "presence", "aria-label": "Who else is on this board" });
  const tabs = h("nav", { class: "tabs", "aria-label": "Project views" },
    VIEWS.map(([id, label]) => h("a", { href: `#/p/${projectId}${id === "board" ? "" : `/${id}`}`, dataset: { view: id } }, label)));
  const newBtn = h("button", { class: "btn btn-primary", type: "button", onclick: () => newTaskDialog({ store, projectId }) }, "+ New task");
  const trashBtn = h("button", { class: "btn", type: "button", onclick: () => trashDialog({ store, projectId, me }) }, "Deleted");
  const content = h("div", { class: "view" });
  const panelHost = h("div", { class: "panel-host", hidden: true });
  const activity = h("ol", { class: "activity", "aria-label": "Recent activity" });

  claim(root);
  mount(root,
    h("div", { class: "project-head" },
      h("div", { class: "project-name" }, h("a", { href: "#/projects", class: "muted small" }, "← Projects"), title, roleTag),
      h("div", { class: "project-tools" }, presenceBox, liveBox, trashBtn, newBtn)),
    tabs,
    h("div", { class: "project-body" }, content, panelHost),
    h("details", { class: "activity-box" }, h("summary", {}, "Recent activity"), activity),
  );

  function setStatus(s) {
    liveBox.dataset.status = s;
    statusText.textContent = STATUS_TEXT[s] || s;
    retryBtn.hidden = s !== "offline";
  }

  function renderHead() {
    title.textContent = store.project.name || "Project";
    document.title = `${store.project.name || "Project"} · Boardcast`;
    roleTag.textContent = store.project.role;
    roleTag.className = `role role-${store.project.role}`;
    newBtn.hidden = !canEdit();
    trashBtn.hidden = !canEdit();
  }

  function renderPresence() {
    const others = store.presence.filter((p) => p.user_id !== me.id);
    const unique = [...new Map(others.map((p) => [p.user_id, p])).values()];
    mount(presenceBox,
      ...unique.slice(0, 6).map((p) => avatar(p, { size: "sm" })),
      h("span", { class: "muted small" }, unique.length ? `${unique.length} other${unique.length > 1 ? "s" : ""} here` : "Only you here"),
    );
  }

  function logActivity(ev) {
    const who = store.memberName(ev.actor_id) || "Someone";
    const d = ev.data || {};
    const what = {
      task_created: () => `created “${d.task?.title}”`,
      task_updated: () => `edited “${d.task?.title}”`,
      task_status_changed: () => `moved “${d.task?.title}” to ${d.task?.status?.replace("_", " ")}`,
      task_assigned: () => `assigned “${d.task?.title}” to ${store.memberName(d.task?.assignee_id) || "nobody"}`,
      task_deleted: () => `deleted a task${d.deleted_ids?.length > 1 ? ` and ${d.deleted_ids.length - 1} subtask(s)` : ""}`,
      task_restored: () => `restored “${d.task?.title}”`,
      comment_created: () => "commented",
      member_added: () => `added ${store.memberName(d.user_id) || "a member"}`,
      member_removed: () => "removed a member",
      member_role_changed: () => `changed a role to ${d.role}`,
    }[ev.type];
    if (!what) return;
    activity.prepend(h("li", {}, h("time", { class: "muted small" }, formatDateTime(ev.occurred_at)), ` ${who} ${what()}`));
    while (activity.children.length > 30) activity.lastChild.remove();
  }

  // ---------------------------------------------------------------- live
  const live = new ProjectLive({
    projectId,
    store,
    wsUrl: config.ws_url,
    onStatus: setStatus,
    onEvent: (ev) => {
      logActivity(ev);
      if (ev.type.startsWith("task_")) refreshFigures();
      if (ev.actor_id !== me.id && ev.data?.task?.id) board?.flash(ev.data.task.id);
      if (ev.type.startsWith("member_")) refreshMembers(ev);
    },
    onRevoked: (message) => leave(message),
    onUnauthorized,
  });

  // Report views follow the board: redraw a moment after task events settle. tasks-api promises fresh figures
  // for a read starting 1 s after a commit, hence the 1.2 s debounce.
  let figuresTimer = null;
  function refreshFigures() {
    clearTimeout(figuresTimer);
    figuresTimer = setTimeout(() => !stopped && content._refresh?.(), 1200);
  }

  async function refreshMembers(ev) {
    if (ev.type === "member_removed" && ev.data.user_id === me.id) return leave("You were removed from this project.");
    try {
      if (ev.data.user_id === me.id) {
        Object.assign(store.project, await api.project(projectId));
        renderHead();
      }
      store.setMembers(await api.members(projectId));
      if (view === "members") show("members");
    } catch (err) {
      if (err.status === 404 || err.status === 403) leave("You no longer have access to this project.");
    }
  }

  let leaving = false;
  function leave(message) {
    // access_revoked and the 4403 close that follows it both land here: one message, one navigation.
    if (stopped || leaving) return;
    leaving = true;
    toast(message, { kind: "error", timeout: 10000 });
    navigate("#/projects");
  }

  store.subscribe((c) => {
    if (c.kind === "presence") renderPresence();
    if (c.kind === "reset") renderHead();
  });

  // ---------------------------------------------------------------- views

  function show(next, taskId = null) {
    for (const a of tabs.querySelectorAll("a")) a.toggleAttribute("aria-current", a.dataset.view === next);
    if (next !== view || next !== "board") {
      board?.destroy();
      board = null;
      view = next;
      if (next === "board") board = renderBoard(content, { store, canEdit, openTask: (id) => navigate(`#/p/${projectId}/t/${id}`) });
      else if (next === "report") renderWeeklyReport(content, { projectId });
      else if (next === "workload") renderWorkload(content, { projectId });
      else if (next === "heatmap") renderHeatmap(content, { projectId });
      else if (next === "members")
        renderMembers(content, { store, projectId, isOwner, reload: async () => store.setMembers(await api.members(projectId)) });
    }
    if (taskId && panel?.taskId !== taskId) {
      panel?.close();
      panel = openTaskPanel(panelHost, { store, taskId, me, canEdit, isOwner,
        openTask: (id) => navigate(`#/p/${projectId}/t/${id}`),
        onClose: () => { panel = null; if (location.hash.includes("/t/")) navigate(`#/p/${projectId}`); } });
    } else if (!taskId && panel) {
      panel.close();
    }
  }

  // ---------------------------------------------------------------- start
  let ready = null;
  let wanted = ["board", null];
  function load(first) {
    setStatus("connecting");
    return Promise.resolve(first ? live.start() : live.retry()).then(
      () => {
        renderHead();
        return true;
      },
      (err) => {
        if (err.status === 404 || err.status === 403) leave("That project does not exist or you are not a member.");
        else if (err.status !== 401) {
          mount(content, h("p", { class: "error-text", role: "alert" }, `Could not load the board: ${describeError(err)}`));
          setStatus("offline");
        }
        return false;
      },
    );
  }

  function retry() {
    if (live.loaded) return live.retry();
    // The first load failed: load again, then show the view the user asked for.
    ready = load(false).then((ok) => {
      if (ok && !stopped) show(...wanted);
      return ok;
    });
  }

  renderPresence();
  ready = load(true);

  return {
    projectId,
    show: (next, taskId) => {
      wanted = [next, taskId];
      return ready.then((ok) => ok && !stopped && show(next, taskId));
    },
    destroy() {
      stopped = true;
      panel?.close();
      board?.destroy();
      live.stop();
    },
  };
}
