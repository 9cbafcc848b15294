// The project list and the form that creates a project.

import { api } from "./api.js";
import { claim, describeError, h, mount, toast } from "./ui.js";

export async function renderProjects(root, { navigate }) {
  const mine = claim(root);
  mount(root, h("p", { class: "muted" }, "Loading projects…"));
  let projects;
  try {
    projects = await api.projects();
  } catch (err) {
    if (mine()) mount(root, h("p", { class: "error-text", role: "alert" }, describeError(err)));
    return;
  }
  if (!mine()) return;

  async function create(e) {
    e.preventDefault();
    const data = Object.fromEntries(new FormData(e.target));
    try {
      const p = await api.createProject(data.name, data.description);
      navigate(`#/p/${p.id}`);
    } catch (err) {
      toast(`Project not created: ${describeError(err)}`, { kind: "error" });
    }
  }

  mount(root,
    h("div", { class: "view-head" }, h("h1", {}, "Your projects")),
    h("ul", { class: "project-grid" },
      projects.length
        ? projects.map((p) => h("li", {}, h("a", { class: "project-card", href: `#/p/${p.id}` },
            h("strong", {}, p.name), p.description && h("span", { class: "muted" }, p.description),
            h("span", { class: `role role-${p.role}` }, p.role))))
        : h("li", { class: "muted" }, "No projects yet: create the first one.")),
    h("form", { class: "card-form", onsubmit: create, "aria-label": "Create project" },
      h("h2", {}, "New project"),
      h("label", { class: "field" }, h("span", {}, "Name"), h("input", { name: "name", required: true, maxlength: "200" })),
      h("label", { class: "field" }, h("span", {}, "Description"), h("input", { name: "description" })),
      h("button", { class: "btn btn-primary", type: "submit" }, "Create project")),
  );
}
