// The project page's dialogs: a generic modal form, "New task", and the list of deleted tasks to restore.

import { api } from "./api.js";
import { PRIORITIES, describeError, h, mount, toast } from "./ui.js";

/** A native modal <dialog> with a form; `onSubmit(data)` resolving true closes it. */
export function dialog(titleText, body, onSubmit, submitLabel = "Create") {
  const dlg = h("dialog", { class: "dialog", "aria-label": titleText },
    h("form", { method: "dialog", class: "stack", onsubmit: async (e) => {
      e.preventDefault();
      if (await onSubmit(Object.fromEntries(new FormData(e.target)))) dlg.close();
    } },
      h("h2", {}, titleText), body,
      h("div", { class: "form-actions" },
        onSubmit && h("button", { class: "btn btn-primary", type: "submit" }, submitLabel),
        h("button", { class: "btn", type: "button", onclick: () => dlg.close() }, "Close"))));
  dlg.addEventListener("close", () => dlg.remove());
  document.body.append(dlg);
  dlg.showModal();
  return dlg;
}

/** Create a task at the bottom of To do. */
export function newTaskDialog({ store, projectId }) {
  dialog("New task", [
    h("label", { class: "field" }, h("span", {}, "Title"), h("input", { name: "title", required: true, maxlength: "300" })),
    h("label", { class: "field" }, h("span", {}, "Description"), h("textarea", { name: "description", rows: "3" })),
    h("div", { class: "field-row" },
      h("label", { class: "field" }, h("span", {}, "Priority"),
        h("select", { name: "priority" }, PRIORITIES.map((p) => h("option", { value: p, selected: p === "medium" }, p)))),
      h("label", { class: "field" }, h("span", {}, "Assignee"),
        h("select", { name: "assignee_id" }, h("option", { value: "" }, "Unassigned"),
          store.members.map((m) => h("option", { value: m.user_id || m.id }, m.name || m.email)))),
      h("label", { class: "field" }, h("span", {}, "Due"), h("input", { name: "due_date", type: "date" })),
      h("label", { class: "field" }, h("span", {}, "Estimate (h)"),
        h("input", { name: "estimate_hours", type: "number", min: "0", step: "0.5" }))),
  ], async (data) => {
    const fields = { title: data.title, priority: data.priority, status: "todo" };
    if (data.description) fields.description = data.description;
    if (data.assignee_id) fields.assignee_id = data.assignee_id;
    if (data.due_date) fields.due_date = data.due_date;
    if (data.estimate_hours) fields.estimate_hours = Number(data.estimate_hours);
    const top = store.column("todo").at(-1);
    fields.position = top ? top.position + 1024 : 1024;
    try {
      store.upsert(await api.createTask(projectId, fields));
      return true;
    } catch (err) {
      toast(`Task not created: ${describeError(err)}`, { kind: "error" });
      return false;
    }
  });
}

/** Tasks deleted while the board was open (every deleted task, for admins), each with Restore. */
export async function trashDialog({ store, projectId, me }) {
  const list = h("ul", { class: "trash-list" });
  const fill = (tasks) =>
    mount(list, ...(tasks.length
      ? tasks.map((t) => h("li", {}, h("span", {}, t.title),
          h("button", { class: "btn btn-small", type: "button", onclick: async (e) => {
            try {
              store.upsert(await api.restoreTask(t.id), { force: true });
              e.target.closest("li").remove();
              toast(`Restored “${t.title}”.`, { kind: "success" });
            } catch (err) {
              toast(`Not restored: ${describeError(err)}`, { kind: "error" });
            }
          } }, "Restore")))
      : [h("li", { class: "muted" }, "Nothing deleted while you were here.")]));
  fill([...store.deleted.values()]);
  dialog("Deleted tasks", list, null);
  if (me.is_admin) {
    // Admins may list every deleted task of the project, not only the ones seen deleted in this session.
    try {
      const all = await api.tasks(projectId, { includeDeleted: true });
      fill(all.filter((t) => t.is_deleted));
    } catch {
      /* keep the session list */
    }
  }
}

