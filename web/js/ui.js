// Small DOM helpers shared by every view: element builder, toasts (an aria-live region), formatting.

/**
 * Build an element: h("button", {class: "x", onclick: fn, "aria-label": "..."}, "text", child, [more]).
 * Attribute values of null/undefined/false are left out; strings are always set as text, never as HTML.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "style") setStyle(el, value);
    else if (key === "value") el.value = value;
    else if (key === "checked" || key === "disabled" || key === "hidden" || key === "selected") el[key] = !!value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

// Through the CSSOM, not the style attribute: the page's Content-Security-Policy refuses inline style attributes.
function setStyle(el, text) {
  for (const rule of String(text).split(";")) {
    const at = rule.indexOf(":");
    if (at > 0) el.style.setProperty(rule.slice(0, at).trim(), rule.slice(at + 1).trim());
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/**
 * Take `el` over for one render and return `stillMine()`. An async view checks it after each await, so a
 * slow response never paints over the view the user has moved on to.
 */
export function claim(el) {
  const ticket = Symbol("render");
  el._ticket = ticket;
  el._refresh = null; // a view that can redraw itself with the same options sets this after claiming
  return () => el._ticket === ticket;
}

/** Replace all children of `el`. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const region = () => document.getElementById("toasts");

/**
 * Show a short message. kind: "info" | "error" | "success". `action` = {label, run} adds a button (e.g. Undo).
 * Errors stay longer; every toast can be dismissed.
 */
export function toast(message, { kind = "info", action = null, timeout = null } = {}) {
  const box = region();
  if (!box) return null;
  const close = () => item.remove();
  const item = h(
    "div",
    { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status" },
    h("span", { class: "toast-text" }, message),
    action &&
      h("button", { class: "btn btn-small", type: "button", onclick: () => { close(); action.run(); } }, action.label),
    h("button", { class: "toast-close", type: "button", "aria-label": "Dismiss", onclick: close }, "×"),
  );
  box.append(item);
  setTimeout(close, timeout ?? (kind === "error" ? 8000 : 4500));
  return item;
}

/** Human text for an ApiError or any thrown value. */
export function describeError(err) {
  if (!err) return "Something went wrong";
  const detail = err.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail) && detail.length) return detail.map((d) => d.msg || JSON.stringify(d)).join("; ");
  if (detail && typeof detail === "object" && detail.message) return detail.message;
  if (err.status) return `Request failed (${err.status})`;
  return err.message || String(err);
}

export function initials(name) {
  const parts = String(name || "?").trim().split(/\s+/).filter(Boolean);
  return ((parts[0]?.[0] || "?") + (parts.length > 1 ? parts[parts.length - 1][0] : "")).toUpperCase();
}

/** A stable hue per user id so avatars keep their colour everywhere. */
export function hue(id) {
  let n = 0;
  for (const ch of String(id)) n = (n * 31 + ch.charCodeAt(0)) % 360;
  return n;
}

export function avatar(user, { size = "md" } = {}) {
  const name = user?.name || "Unknown";
  return h(
    "span",
    { class: `avatar avatar-${size}`, title: name, style: `--hue:${hue(user?.user_id || user?.id || name)}` },
    h("span", { "aria-hidden": "true" }, initials(name)),
    h("span", { class: "sr-only" }, name),
  );
}

export function formatDate(value) {
  if (!value) return "";
  const d = new Date(value.length === 10 ? `${value}T00:00:00` : value);
  return Number.isNaN(d.getTime()) ? String(value) : d.toLocaleDateString(undefined, { month: "short", day: "numeric" });
}

export function formatDateTime(value) {
  if (!value) return "";
  const d = new Date(value);
  return Number.isNaN(d.getTime())
    ? String(value)
    : d.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

/** Monday of the week holding `date`, as YYYY-MM-DD (local calendar). */
export function weekStart(date = new Date()) {
  const d = new Date(date.getFullYear(), date.getMonth(), date.getDate());
  d.setDate(d.getDate() - ((d.getDay() + 6) % 7));
  return isoDay(d);
}

export function isoDay(d) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

export const STATUSES = [
  { id: "todo", label: "To do" },
  { id: "in_progress", label: "In progress" },
  { id: "blocked", label: "Blocked" },
  { id: "done", label: "Done" },
];

export const PRIORITIES = ["low", "medium", "high", "urgent"];

export function statusLabel(id) {
  return STATUSES.find((s) => s.id === id)?.label || id;
}
