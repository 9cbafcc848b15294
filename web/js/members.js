// The members view: who is in the project, and (for owners) adding, re-roling and removing people.

import { api } from "./api.js";
import { avatar, claim, describeError, h, mount, toast } from "./ui.js";

const ROLES = ["owner", "editor", "viewer"];

export function renderMembers(root, { store, projectId, isOwner, reload }) {
  const results = h("ul", { class: "user-results" });
  let timer = null;

  async function search(text) {
    try {
      const users = await api.users(text);
      const taken = new Set(store.members.map((m) => m.user_id || m.id));
      mount(results, ...users.filter((u) => !taken.has(u.id)).slice(0, 8).map((u) =>
        h("li", {}, h("span", { class: "who" }, avatar(u, { size: "sm" }), `${u.name} `, h("span", { class: "muted small" }, u.email)),
          h("button", { class: "btn btn-small", type: "button", onclick: () => add(u.id, "editor") }, "Add as editor"),
          h("button", { class: "btn btn-small", type: "button", onclick: () => add(u.id, "viewer") }, "Add as viewer"))));
    } catch (err) {
      mount(results, h("li", { class: "error-text" }, describeError(err)));
    }
  }

  async function run(action, okText) {
    try {
      await action();
      toast(okText, { kind: "success" });
      await reload();
    } catch (err) {
      toast(describeError(err), { kind: "error" });
    }
  }

  const add = (userId, role) => run(() => api.addMember(projectId, userId, role), "Member added");

  claim(root);
  mount(root,
    h("div", { class: "view-head" }, h("h2", {}, "Members")),
    h("table", { class: "table" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Person"), h("th", { scope: "col" }, "Role"), h("th", {}, ""))),
      h("tbody", {}, store.members.map((m) => {
        const id = m.user_id || m.id;
        return h("tr", {},
          h("th", { scope: "row" }, h("span", { class: "who" }, avatar({ user_id: id, name: m.name }, { size: "sm" }), m.name || m.email || id)),
          h("td", {}, isOwner()
            ? h("select", { "aria-label": `Role of ${m.name}`,
                onchange: (e) => run(() => api.setRole(projectId, id, e.target.value), "Role changed") },
                ROLES.map((r) => h("option", { value: r, selected: r === m.role }, r)))
            : m.role),
          h("td", {}, isOwner() && h("button", { class: "btn btn-small btn-danger", type: "button",
            onclick: () => confirm(`Remove ${m.name || "this member"}?`) && run(() => api.removeMember(projectId, id), "Member removed") }, "Remove")));
      }))),
    isOwner() && h("section", { class: "panel-section" }, h("h3", {}, "Add someone"),
      h("input", { type: "search", placeholder: "Search people by name or email", "aria-label": "Search people",
        oninput: (e) => { clearTimeout(timer); timer = setTimeout(() => search(e.target.value), 250); } }),
      results),
  );
}
