// The Kanban columns: keyed rendering of cards from the store, HTML5 drag and drop, keyboard moves.

import { api, conflictTask } from "./api.js";
import { positionBetween } from "./store.js";
import { STATUSES, avatar, claim, describeError, formatDate, h, mount, statusLabel, toast } from "./ui.js";

/**
 * Render the board into `root` and keep it in step with `store`.
 * `canEdit()` says whether the caller may change tasks (viewers may not); `openTask(id)` opens the panel.
 */
export function renderBoard(root, { store, canEdit, openTask }) {
  const cards = new Map();
  const lists = new Map();
  let dragging = null;
  const marker = h("div", { class: "drop-marker", "aria-hidden": "true" });

  const columns = STATUSES.map(({ id, label }) => {
    const count = h("span", { class: "column-count" }, "0");
    const list = h("ol", { class: "column-list", "aria-label": `${label} tasks`, dataset: { status: id } });
    lists.set(id, { list, count });
    list.addEventListener("dragover", (e) => onDragOver(e, id));
    list.addEventListener("drop", (e) => onDrop(e, id));
    list.addEventListener("dragleave", (e) => {
      if (!list.contains(e.relatedTarget)) marker.remove();
    });
    return h(
      "section",
      { class: `column column-${id}`, "aria-labelledby": `col-${id}`, dataset: { status: id } },
      h("header", { class: "column-head" }, h("h2", { id: `col-${id}` }, label), count),
      list,
    );
  });
  const announcer = h("div", { class: "sr-only", "aria-live": "polite" });
  claim(root);
  mount(root, h("div", { class: "board" }, columns), announcer);

  // ---------------------------------------------------------------- rendering

  function cardFor(task) {
    let el = cards.get(task.id);
    if (!el) {
      el = h("li", { class: "card", tabindex: "0", dataset: { id: task.id } });
      el.addEventListener("click", () => openTask(el.dataset.id));
      el.addEventListener("keydown", (e) => onCardKey(e, el.dataset.id));
      el.addEventListener("dragstart", (e) => {
        dragging = el.dataset.id;
        e.dataTransfer.setData("text/plain", dragging);
        e.dataTransfer.effectAllowed = "move";
        requestAnimationFrame(() => el.classList.add("dragging"));
      });
      el.addEventListener("dragend", () => {
        dragging = null;
        el.classList.remove("dragging");
        marker.remove();
      });
      cards.set(task.id, el);
    }
    if (el._task !== task) {
      el._task = task;
      fillCard(el, task);
    }
    el.draggable = canEdit();
    return el;
  }

  function fillCard(el, task) {
    const overdue = task.due_date && task.status !== "done" && new Date(`${task.due_date}T23:59:59`) < new Date();
    const assignee = task.assignee_id ? { user_id: task.assignee_id, name: store.memberName(task.assignee_id) } : null;
    el.setAttribute(
      "aria-label",
      `${task.title}, ${statusLabel(task.status)}, priority ${task.priority}` +
        (assignee ? `, assigned to ${assignee.name || "someone"}` : ""),
    );
    el.className = `card priority-${task.priority}${task._optimistic ? " pending" : ""}`;
    mount(
      el,
      h("div", { class: "card-title" }, task.title),
      task.status === "blocked" && task.blocker_reason && h("p", { class: "card-blocker" }, h("strong", {}, "Blocked: "), task.blocker_reason),
      h(
        "div",
        { class: "card-meta" },
        h("span", { class: `chip chip-${task.priority}` }, task.priority),
        task.due_date && h("span", { class: `due${overdue ? " overdue" : ""}`, title: "Due date" }, formatDate(task.due_date)),
        task.subtask_count > 0 && h("span", { class: "subtasks", title: "Subtasks" }, `${task.subtask_count} subtask${task.subtask_count > 1 ? "s" : ""}`),
        task.estimate_hours != null && h("span", { class: "estimate", title: "Estimate" }, `${task.estimate_hours} h`),
        h("span", { class: "spacer" }),
        assignee && avatar(assignee, { size: "sm" }),
      ),
    );
  }

  function nextCard(node) {
    while (node && !node.classList.contains("card")) node = node.nextElementSibling;
    return node;
  }

  function render(flashId = null) {
    const live = new Set();
    for (const { id: status } of STATUSES) {
      const { list, count } = lists.get(status);
      const tasks = store.column(status);
      count.textContent = String(tasks.length);
      count.setAttribute("aria-label", `${tasks.length} task${tasks.length === 1 ? "" : "s"}`);
      // One pass with a cursor over the cards already there: only cards out of place move in the DOM.
      let cursor = nextCard(list.firstElementChild);
      for (const task of tasks) {
        live.add(task.id);
        const el = cardFor(task);
        if (el === cursor) cursor = nextCard(cursor.nextElementSibling);
        else list.insertBefore(el, cursor);
      }
      list.classList.toggle("empty", tasks.length === 0);
    }
    for (const [id, el] of cards) {
      if (!live.has(id)) {
        el.remove();
        cards.delete(id);
      }
    }
    if (flashId && cards.has(flashId)) {
      const el = cards.get(flashId);
      el.classList.remove("flash");
      void el.offsetWidth; // restart the animation
      el.classList.add("flash");
    }
  }

  // ---------------------------------------------------------------- moving

  /** Move a card to `status` at `index` (among the other cards of that column): optimistic, then the server. */
  async function move(id, status, index) {
    const task = store.tasks.get(id);
    if (!task || !canEdit()) return;
    const others = store.column(status).filter((t) => t.id !== id);
    index = Math.max(0, Math.min(index, others.length));
    const before = others[index - 1];
    const after = others[index];
    const current = store.column(task.status);
    const i = current.findIndex((t) => t.id === id);
    if (task.status === status && current[i - 1] === before && current[i + 1] === after) return;
    const position = positionBetween(before, after);
    const undo = store.moveLocal(id, status, position);
    try {
      store.upsert(await api.moveTask(id, status, position, task.version));
      announcer.textContent = `Moved “${task.title}” to ${statusLabel(status)}, position ${index + 1}.`;
      if (status === "blocked" && task.status !== "blocked" && !task.blocker_reason)
        toast(`“${task.title}” is blocked.`, { action: { label: "Add a reason", run: () => openTask(id) } });
    } catch (err) {
      const latest = err.status === 409 ? conflictTask(err) : null;
      if (latest) store.upsert(latest, { force: true });
      else undo();
      const why =
        err.status === 409
          ? "someone changed it first"
          : err.status === 403
            ? "you may not change tasks in this project"
            : err.status === 404
              ? "it no longer exists"
              : describeError(err);
      toast(`Move of “${task.title}” was undone: ${why}.`, { kind: "error" });
      cards.get(id)?.classList.add("shake");
      setTimeout(() => cards.get(id)?.classList.remove("shake"), 600);
    }
  }

  function dropIndex(list, clientY) {
    const others = [...list.querySelectorAll(":scope > .card")].filter((el) => el.dataset.id !== dragging);
    const idx = others.findIndex((el) => {
      const r = el.getBoundingClientRect();
      return clientY < r.top + r.height / 2;
    });
    return { index: idx === -1 ? others.length : idx, others };
  }

  function onDragOver(e, status) {
    if (!dragging) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "move";
    const { list } = lists.get(status);
    const { index, others } = dropIndex(list, e.clientY);
    const anchor = others[index] || null;
    if (marker.parentNode !== list || marker.nextSibling !== anchor) list.insertBefore(marker, anchor);
  }

  function onDrop(e, status) {
    e.preventDefault();
    const id = dragging || e.dataTransfer.getData("text/plain");
    marker.remove();
    if (!id) return;
    const { index } = dropIndex(lists.get(status).list, e.clientY);
    dragging = null;
    move(id, status, index);
  }

  // Keyboard: Alt+←/→ moves to the neighbouring column, Alt+↑/↓ reorders, Enter opens the task.
  function onCardKey(e, id) {
    const task = store.tasks.get(id);
    if (!task) return;
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      openTask(id);
      return;
    }
    if (!e.altKey || !canEdit()) return;
    const col = STATUSES.findIndex((s) => s.id === task.status);
    const index = store.column(task.status).findIndex((t) => t.id === id);
    let target = null;
    if (e.key === "ArrowRight" && col < STATUSES.length - 1) target = [STATUSES[col + 1].id, Infinity];
    if (e.key === "ArrowLeft" && col > 0) target = [STATUSES[col - 1].id, Infinity];
    if (e.key === "ArrowUp" && index > 0) target = [task.status, index - 1];
    if (e.key === "ArrowDown") target = [task.status, index + 1];
    if (!target) return;
    e.preventDefault();
    move(id, target[0], target[1]).then(() => cards.get(id)?.focus());
    cards.get(id)?.focus();
  }

  const unsubscribe = store.subscribe((change) => {
    if (change.kind === "members") for (const el of cards.values()) el._task = null; // names may have changed
    if (change.kind === "task" || change.kind === "removed" || change.kind === "reset" || change.kind === "members")
      render();
  });
  render();
  return {
    move,
    flash: (id) => render(id),
    destroy: unsubscribe,
  };
}
