// A task's comments in the task panel: the list (kept live by comment_* events), posting and deleting.

import { api } from "./api.js";
import { describeError, formatDateTime, h, mount, toast } from "./ui.js";

/** Returns {el, onChange(change)}: mount `el`, and feed it every store change while the panel is open. */
export function createComments({ store, taskId, me, canEdit, isOwner }) {
  let comments = [];
  const list = h("ol", { class: "comment-list", "aria-live": "polite" });
  const box = h("textarea", { name: "body", rows: "2", placeholder: "Write a comment… (@name mentions)",
    required: true, "aria-label": "Comment" });
  const el = h("section", { class: "panel-section", "aria-label": "Comments" },
    h("h3", {}, "Comments"),
    list,
    canEdit() && h("form", { class: "comment-form", onsubmit: add }, box,
      h("button", { class: "btn btn-primary", type: "submit" }, "Comment")));

  function render() {
    mount(list,
      ...(comments.length
        ? comments.map((c) =>
            h("li", { class: "comment", dataset: { id: c.id } },
              h("div", { class: "comment-head" },
                h("strong", {}, store.memberName(c.author_id) || "Someone"),
                h("time", { datetime: c.created_at }, formatDateTime(c.created_at)),
                c.updated_at && c.updated_at !== c.created_at && h("span", { class: "muted small" }, "(edited)"),
                c.author_id === me.id &&
                  h("button", { class: "btn-link small", type: "button", "aria-label": "Edit comment",
                    onclick: (e) => edit(c, e.target.closest(".comment")) }, "Edit"),
                (c.author_id === me.id || isOwner()) &&
                  h("button", { class: "btn-link small", type: "button", "aria-label": "Delete comment",
                    onclick: () => remove(c) }, "Delete")),
              h("p", { class: "comment-body" }, c.body)))
        : [h("li", { class: "muted" }, "No comments yet")]),
    );
  }

  function sort() {
    comments.sort((a, b) => String(a.created_at).localeCompare(String(b.created_at)));
  }

  function upsert(c) {
    const i = comments.findIndex((x) => x.id === c.id);
    if (i >= 0) comments[i] = c;
    else comments.push(c);
    sort();
    render();
  }

  async function add(e) {
    e.preventDefault();
    try {
      upsert(await api.addComment(taskId, box.value));
      box.value = "";
    } catch (err) {
      toast(`Comment not posted: ${describeError(err)}`, { kind: "error" });
    }
  }

  /** Swap the comment's text for a small form; Save sends PATCH /api/comments/{id} (author only). */
  function edit(c, item) {
    const area = h("textarea", { rows: "2", required: true, "aria-label": "Edited comment" }, c.body);
    const form = h("form", { class: "comment-form", onsubmit: async (e) => {
      e.preventDefault();
      try {
        upsert(await api.editComment(c.id, area.value));
      } catch (err) {
        toast(`Comment not changed: ${describeError(err)}`, { kind: "error" });
      }
    } },
      area,
      h("div", { class: "form-actions" },
        h("button", { class: "btn btn-small", type: "button", onclick: render }, "Cancel"),
        h("button", { class: "btn btn-small btn-primary", type: "submit" }, "Save")));
    item.querySelector(".comment-body").replaceWith(form);
    area.focus();
  }

  async function remove(c) {
    try {
      await api.deleteComment(c.id);
      comments = comments.filter((x) => x.id !== c.id);
      render();
    } catch (err) {
      toast(`Comment not deleted: ${describeError(err)}`, { kind: "error" });
    }
  }

  async function load({ replace = false } = {}) {
    try {
      const fetched = await api.comments(taskId);
      // On open, events may have arrived while loading: merge. After a resync the server's list is the truth.
      if (replace) comments = [];
      for (const c of fetched) if (!comments.some((x) => x.id === c.id)) comments.push(c);
      sort();
      render();
    } catch (err) {
      mount(list, h("li", { class: "muted" }, `Comments unavailable: ${describeError(err)}`));
    }
  }

  function onChange(change) {
    if (change.kind === "comment") {
      const d = change.data || {};
      if (d.comment?.task_id === taskId) upsert(d.comment);
      else if (change.type === "comment_deleted" && d.task_id === taskId) {
        comments = comments.filter((c) => c.id !== d.comment_id);
        render();
      }
    } else if (change.kind === "reset") {
      load({ replace: true });
    } else if (change.kind === "members") {
      render();
    }
  }

  render();
  load();
  return { el, onChange };
}
