// Read-only views of one project: the weekly report, the team's workload and the estimate heatmap.
// Each sets `root._refresh` so the project page can redraw it, quietly, after task events.

import { api } from "./api.js";
import { avatar, claim, describeError, formatDate, h, isoDay, mount, weekStart } from "./ui.js";

function weekPicker(value, onChange) {
  return h("label", { class: "field inline" }, h("span", {}, "Week of"),
    h("input", { type: "date", value, onchange: (e) => onChange(weekStart(new Date(`${e.target.value}T00:00:00`))) }));
}

function failed(root, err) {
  mount(root, h("p", { class: "error-text", role: "alert" }, `Could not load: ${describeError(err)}`));
}

export async function renderWeeklyReport(root, { projectId, week = weekStart(), quiet = false }) {
  const mine = claim(root);
  root._refresh = () => renderWeeklyReport(root, { projectId, week, quiet: true });
  if (!quiet) mount(root, h("p", { class: "muted" }, "Loading report…"));
  let r;
  try {
    r = await api.weeklyReport(projectId, week);
  } catch (err) {
    return mine() && failed(root, err);
  }
  if (!mine()) return;
  const section = (title, items, extra) =>
    h("section", { class: "report-section" },
      h("h3", {}, `${title} `, h("span", { class: "column-count" }, String(items?.length || 0))),
      items?.length
        ? h("ul", { class: "report-list" }, items.map((t) =>
            h("li", {}, h("span", { class: "report-title" }, t.title),
              h("span", { class: "muted" }, t.assignee_name || "Unassigned"), extra(t))))
        : h("p", { class: "muted" }, "Nothing here."));
  mount(root,
    h("div", { class: "view-head" }, h("h2", {}, `Week of ${formatDate(r.week_start || week)}`),
      weekPicker(week, (w) => renderWeeklyReport(root, { projectId, week: w }))),
    h("div", { class: "report-grid" },
      section("Completed", r.completed, (t) => t.completed_at && h("span", { class: "small" }, `done ${formatDate(t.completed_at)}`)),
      section("In progress", r.in_progress, () => null),
      section("Blocked", r.blocked, (t) =>
        h("span", { class: "small" }, t.blocker_reason || "no reason given", t.blocked_since && ` · since ${formatDate(t.blocked_since)}`)),
      section("Overdue", r.overdue, (t) => h("span", { class: "small overdue" }, `${t.days_overdue} d overdue`)),
      section("Due next week", r.next_week, (t) => h("span", { class: "small" }, `due ${formatDate(t.due_date)}`))),
  );
}

export async function renderWorkload(root, { projectId, week = weekStart(), quiet = false }) {
  const mine = claim(root);
  root._refresh = () => renderWorkload(root, { projectId, week, quiet: true });
  if (!quiet) mount(root, h("p", { class: "muted" }, "Loading workload…"));
  let res;
  try {
    res = await api.workload(projectId, week);
  } catch (err) {
    return mine() && failed(root, err);
  }
  if (!mine()) return;
  const rows = Array.isArray(res.data) ? res.data : res.data?.users || res.data?.rows || [];
  mount(root,
    h("div", { class: "view-head" }, h("h2", {}, "Workload"),
      weekPicker(week, (w) => renderWorkload(root, { projectId, week: w })),
      h("span", { class: "muted small", title: "Served from the cache or computed" }, `cache: ${res.headers.get("X-Cache") || "?"}`)),
    rows.length
      ? h("table", { class: "table" },
          h("thead", {}, h("tr", {}, ["Person", "Open", "Estimate", "Overdue", "Load"].map((c) => h("th", { scope: "col" }, c)))),
          h("tbody", {}, rows.map((u) => {
            const pct = Math.round(u.load_percent || 0);
            return h("tr", {},
              h("th", { scope: "row" }, h("span", { class: "who" }, avatar(u, { size: "sm" }), u.name)),
              h("td", {}, String(u.open_tasks)),
              h("td", {}, `${u.estimate_hours ?? 0} / ${u.capacity_hours ?? "?"} h`),
              h("td", { class: u.overdue ? "overdue" : "" }, String(u.overdue ?? 0)),
              h("td", {}, h("div", { class: "meter", role: "meter", "aria-valuenow": pct, "aria-valuemin": "0",
                "aria-valuemax": "100", "aria-label": `${u.name} load` },
                h("div", { class: `meter-bar${pct > 100 ? " over" : ""}`, style: `width:${Math.min(pct, 100)}%` })),
                h("span", { class: "small" }, ` ${pct}%`)));
          })))
      : h("p", { class: "muted" }, "Nobody has open tasks assigned."),
  );
}

export async function renderHeatmap(root, { projectId, from = null, days = 28, quiet = false }) {
  const start = from || weekStart();
  const end = new Date(`${start}T00:00:00`);
  end.setDate(end.getDate() + days - 1);
  const mine = claim(root);
  root._refresh = () => renderHeatmap(root, { projectId, from: start, days, quiet: true });
  if (!quiet) mount(root, h("p", { class: "muted" }, "Loading heatmap…"));
  let res;
  try {
    res = await api.heatmap(projectId, start, isoDay(end));
  } catch (err) {
    return mine() && failed(root, err);
  }
  if (!mine()) return;
  const { days: dayList = [], rows = [] } = res.data || {};
  const max = Math.max(1, ...rows.flatMap((r) => r.hours || []));
  mount(root,
    h("div", { class: "view-head" }, h("h2", {}, "Heatmap"),
      h("label", { class: "field inline" }, h("span", {}, "From"),
        h("input", { type: "date", value: start, onchange: (e) => renderHeatmap(root, { projectId, from: e.target.value, days }) })),
      h("span", { class: "muted small" }, `estimate hours by due date · cache: ${res.headers.get("X-Cache") || "?"}`)),
    rows.length
      ? h("div", { class: "heatmap-wrap" }, h("table", { class: "heatmap" },
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Person"),
            dayList.map((d) => h("th", { scope: "col", title: d }, formatDate(d).replace(/\s/, "\u00a0"))))),
          h("tbody", {}, rows.map((r) =>
            h("tr", {}, h("th", { scope: "row" }, r.name),
              (r.hours || []).map((v, i) =>
                h("td", { class: "heat", title: `${r.name}, ${dayList[i]}: ${v} h`,
                  style: `--heat:${(v / max).toFixed(3)}` }, v ? String(Math.round(v * 10) / 10) : "")))))))
      : h("p", { class: "muted" }, "No estimated work due in this range."),
  );
}
