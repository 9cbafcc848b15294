// The task panel: edit, assign, delete/restore one task and its subtasks; comments come from comments.js.

import { api, conflictTask } from "./api.js";
import { createComments } from "./comments.js";
import { PRIORITIES, STATUSES, describeError, formatDateTime, h, mount, toast } from "./ui.js";

/** Open the panel for `taskId` in `host`. Returns {close, taskId}. */
export function openTaskPanel(host, { store, taskId, me, canEdit, isOwner, onClose, openTask }) {
  let task = store.tasks.get(taskId) || store.deleted.get(taskId);
  let dirty = false;
  const titleId = `panel-title-${taskId}`;

  const heading = h("h2", { id: titleId });
  const notice = h("div", { class: "panel-notice", role: "status", hidden: true });
  const form = h("form", { class: "task-form", onsubmit: save, oninput: () => (dirty = true) });
  const subtaskList = h("ul", { class: "subtask-list" });
  const comments = createComments({ store, taskId, me, canEdit, isOwner });

  const panel = h(
    "aside",
    { class: "panel", role: "dialog", "aria-modal": "false", "aria-labelledby": titleId,
      onkeydown: (e) => e.key === "Escape" && close() },
    h("header", { class: "panel-head" }, heading,
      h("button", { class: "icon-btn", type: "button", "aria-label": "Close task panel", onclick: () => close() }, "×")),
    notice,
    form,
    h("section", { class: "panel-section", "aria-label": "Subtasks" },
      h("h3", {}, "Subtasks"),
      subtaskList,
      canEdit() && h("form", { class: "inline-form", onsubmit: addSubtask },
        h("input", { name: "title", placeholder: "New subtask", required: true, "aria-label": "New subtask title" }),
        h("button", { class: "btn", type: "submit" }, "Add"))),
    comments.el,
  );
  mount(host, panel);
  host.hidden = false;

  // ------------------------------------------------------------ the form

  function field(label, input) {
    return h("label", { class: "field" }, h("span", {}, label), input);
  }

  function fillForm() {
    dirty = false;
    heading.textContent = task.title;
    const ro = !canEdit() || task.is_deleted;
    const members = store.members;
    mount(form,
      field("Title", h("input", { name: "title", value: task.title, required: true, maxlength: "300", disabled: ro })),
      field("Description", h("textarea", { name: "description", rows: "4", disabled: ro }, task.description || "")),
      h("div", { class: "field-row" },
        field("Status", h("select", { name: "status", disabled: ro },
          STATUSES.map((s) => h("option", { value: s.id, selected: s.id === task.status }, s.label)))),
        field("Priority", h("select", { name: "priority", disabled: ro },
          PRIORITIES.map((p) => h("option", { value: p, selected: p === task.priority }, p))))),
      h("div", { class: "field-row" },
        field("Assignee", h("select", { name: "assignee_id", disabled: ro },
          h("option", { value: "" }, "Unassigned"),
          members.map((m) => {
            const id = m.user_id || m.id;
            return h("option", { value: id, selected: id === task.assignee_id }, m.name || m.email || id);
          }))),
        field("Due", h("input", { name: "due_date", type: "date", value: task.due_date || "", disabled: ro })),
        field("Estimate (h)", h("input", { name: "estimate_hours", type: "number", min: "0", step: "0.5",
          value: task.estimate_hours ?? "", disabled: ro }))),
      field("Blocker reason", h("input", { name: "blocker_reason", value: task.blocker_reason || "", disabled: ro,
        placeholder: "Why is it blocked?" })),
      h("p", { class: "muted small" }, `Version ${task.version} · updated ${formatDateTime(task.updated_at)}`),
      h("div", { class: "form-actions" },
        !ro && h("button", { class: "btn btn-primary", type: "submit" }, "Save"),
        !task.is_deleted && canEdit() && h("button", { class: "btn btn-danger", type: "button", "aria-label": "Delete task", onclick: remove }, "Delete"),
        task.is_deleted && canEdit() && h("button", { class: "btn", type: "button", onclick: restore }, "Restore"),
        task.parent_id && h("button", { class: "btn btn-link", type: "button", onclick: () => openTask(task.parent_id) },
          "↑ Parent task")),
    );
  }

  async function save(e) {
    e.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    const fields = {};
    for (const key of ["title", "description", "priority", "due_date", "blocker_reason"]) {
      const value = data[key] === "" && key !== "title" && key !== "description" ? null : data[key];
      if ((task[key] ?? null) !== value && !(key === "description" && !task[key] && !value)) fields[key] = value;
    }
    const est = data.estimate_hours === "" ? null : Number(data.estimate_hours);
    if ((task.estimate_hours ?? null) !== est) fields.estimate_hours = est;
    const assignee = data.assignee_id || null;
    try {
      let current = task;
      if (Object.keys(fields).length) current = await api.updateTask(task.id, fields, current.version);
      if ((current.assignee_id || null) !== assignee) current = await api.assignTask(task.id, assignee, current.version);
      if (data.status !== current.status)
        current = await api.moveTask(task.id, data.status, undefined, current.version);
      store.upsert(current);
      task = store.tasks.get(task.id) || current;
      fillForm();
      toast("Saved", { kind: "success", timeout: 2000 });
    } catch (err) {
      const latest = err.status === 409 ? conflictTask(err) : null;
      if (latest) {
        store.upsert(latest, { force: true });
        task = latest;
        fillForm();
        toast("Someone changed this task first; the panel now shows their version. Please redo your edit.", { kind: "error" });
      } else toast(`Not saved: ${describeError(err)}`, { kind: "error" });
    }
  }

  async function remove() {
    if (!confirm(`Delete “${task.title}” and its subtasks?`)) return;
    try {
      await api.deleteTask(task.id);
      const id = task.id;
      store.remove([id, ...store.subtasks(id).map((t) => t.id)]);
      toast(`Deleted “${task.title}”.`, { action: { label: "Undo", run: () => restoreId(id) }, timeout: 10000 });
      close();
    } catch (err) {
      toast(`Not deleted: ${describeError(err)}`, { kind: "error" });
    }
  }

  async function restore() {
    await restoreId(task.id);
  }

  async function restoreId(id) {
    try {
      const restored = await api.restoreTask(id);
      store.upsert(restored, { force: true });
      toast(`Restored “${restored.title}”.`, { kind: "success" });
      if (task?.id === id && !closed) {
        task = restored;
        fillForm();
      }
    } catch (err) {
      toast(`Not restored: ${describeError(err)}`, { kind: "error" });
    }
  }

  // ------------------------------------------------------------ subtasks

  function renderSubtasks() {
    const subs = store.subtasks(task.id);
    mount(subtaskList,
      ...(subs.length
        ? subs.map((s) =>
            h("li", { class: `subtask status-${s.status}` },
              h("input", { type: "checkbox", checked: s.status === "done", disabled: !canEdit(),
                "aria-label": `Mark “${s.title}” done`, onchange: (e) => toggleSubtask(s, e.target.checked) }),
              h("button", { class: "btn-link", type: "button", onclick: () => openTask(s.id) }, s.title)))
        : [h("li", { class: "muted" }, "No subtasks")]),
    );
  }

  async function toggleSubtask(sub, done) {
    try {
      store.upsert(await api.moveTask(sub.id, done ? "done" : "todo", undefined, sub.version));
    } catch (err) {
      toast(`Subtask not changed: ${describeError(err)}`, { kind: "error" });
      renderSubtasks();
    }
  }

  async function addSubtask(e) {
    e.preventDefault();
    const input = e.target.elements.title;
    try {
      store.upsert(await api.createTask(task.project_id, { title: input.value, parent_id: task.id }));
      input.value = "";
    } catch (err) {
      toast(`Subtask not created: ${describeError(err)}`, { kind: "error" });
    }
  }

  // ------------------------------------------------------------ live

  const unsubscribe = store.subscribe((change) => {
    comments.onChange(change);
    if (change.kind === "task" && change.id === task.id) {
      if (change.task._optimistic) return;
      task = change.task;
      if (dirty) {
        notice.hidden = false;
        mount(notice, "Someone else changed this task. ",
          h("button", { class: "btn-link", type: "button", onclick: () => { notice.hidden = true; fillForm(); } },
            "Show their version"));
      } else fillForm();
    } else if (change.kind === "task" && change.task.parent_id === task.id) {
      renderSubtasks();
    } else if (change.kind === "removed") {
      if (change.ids.includes(task.id)) {
        task = { ...task, is_deleted: true };
        notice.hidden = false;
        notice.textContent = "This task was deleted.";
        fillForm();
      }
      renderSubtasks();
    } else if (change.kind === "reset") {
      // The board was refetched (resync): take the fresh task and comments unless the user is mid-edit.
      const fresh = store.tasks.get(task.id);
      if (fresh && !dirty) {
        task = fresh;
        fillForm();
      }
      renderSubtasks();
    } else if (change.kind === "members" && !dirty) {
      fillForm();
    }
  });

  let closed = false;
  function close() {
    if (closed) return;
    closed = true;
    unsubscribe();
    host.hidden = true;
    host.replaceChildren();
    onClose?.();
  }

  if (!task) {
    heading.textContent = "Task not found";
    mount(form, h("p", { class: "muted" }, "It may have been deleted."));
    return { close, taskId };
  }
  fillForm();
  renderSubtasks();
  panel.querySelector("input, select, textarea, button")?.focus();
  return { close, taskId };
}
