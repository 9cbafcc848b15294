// REST client for SPEC §3 (tasks-api) and the notifier: JSON in and out, bearer token, typed errors.

import * as auth from "./auth.js";

export class ApiError extends Error {
  constructor(status, body) {
    const detail = body && typeof body === "object" ? body.detail : body;
    super(typeof detail === "string" ? detail : `HTTP ${status}`);
    this.status = status;
    this.body = body;
    this.detail = detail;
  }
}

/** Raised handlers: 401 means the session is over; the app goes back to the login page. */
let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

export async function request(method, path, { body, headers = {}, authed = true, raw = false } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers } };
  if (authed) {
    const t = auth.token();
    if (!t) {
      onUnauthorized();
      throw new ApiError(401, { detail: "Not signed in" });
    }
    init.headers.Authorization = `Bearer ${t}`;
  }
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, { detail: "The server cannot be reached" });
  }
  const text = res.status === 204 ? "" : await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { detail: text };
  }
  if (!res.ok) {
    if (res.status === 401 && authed) onUnauthorized();
    throw new ApiError(res.status, data);
  }
  return raw ? { data, headers: res.headers } : data;
}

const get = (p, o) => request("GET", p, o);
const post = (p, body, o = {}) => request("POST", p, { ...o, body });
const patch = (p, body, o = {}) => request("PATCH", p, { ...o, body });
const del = (p, o) => request("DELETE", p, o);
const q = (params) => {
  const s = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== ""));
  return s.toString() ? `?${s}` : "";
};
const ifMatch = (version) => (version ? { headers: { "If-Match": String(version) } } : {});

export const api = {
  config: () => get("/api/config", { authed: false }).catch(() => ({ ws_url: null })),

  login: (email, password) => post("/api/auth/login", { email, password }, { authed: false }),
  register: (email, name, password) => post("/api/auth/register", { email, name, password }, { authed: false }),
  refresh: () => post("/api/auth/refresh", undefined),
  me: () => get("/api/me"),
  users: (search) => get(`/api/users${q({ q: search })}`),

  projects: () => get("/api/projects"),
  project: (id) => get(`/api/projects/${id}`),
  createProject: (name, description) => post("/api/projects", description ? { name, description } : { name }),
  members: (id) => get(`/api/projects/${id}/members`),
  addMember: (id, user_id, role) => post(`/api/projects/${id}/members`, { user_id, role }),
  setRole: (id, user_id, role) => patch(`/api/projects/${id}/members/${user_id}`, { role }),
  removeMember: (id, user_id) => del(`/api/projects/${id}/members/${user_id}`),

  tasks: (projectId, { includeDeleted = false } = {}) =>
    get(`/api/projects/${projectId}/tasks${q({ include_deleted: includeDeleted ? "true" : "" })}`),
  task: (id) => get(`/api/tasks/${id}`),
  createTask: (projectId, fields) => post(`/api/projects/${projectId}/tasks`, fields),
  updateTask: (id, fields, version) => patch(`/api/tasks/${id}`, fields, ifMatch(version)),
  moveTask: (id, status, position, version) => patch(`/api/tasks/${id}/status`, { status, position }, ifMatch(version)),
  assignTask: (id, assignee_id, version) => patch(`/api/tasks/${id}/assign`, { assignee_id }, ifMatch(version)),
  deleteTask: (id) => del(`/api/tasks/${id}`),
  restoreTask: (id) => post(`/api/tasks/${id}/restore`, undefined),

  comments: (taskId) => get(`/api/tasks/${taskId}/comments`),
  addComment: (taskId, body) => post(`/api/tasks/${taskId}/comments`, { body }),
  editComment: (id, body) => patch(`/api/comments/${id}`, { body }),
  deleteComment: (id) => del(`/api/comments/${id}`),

  weeklyReport: (projectId, week) => get(`/api/projects/${projectId}/weekly-report${q({ week })}`),
  workload: (projectId, week) => get(`/api/workload${q({ project_id: projectId, week })}`, { raw: true }),
  heatmap: (projectId, from, to) => get(`/api/projects/${projectId}/heatmap${q({ from, to })}`, { raw: true }),

  notifications: (unread) => get(`/api/notifications${q({ unread: unread ? "true" : "" })}`),
  unreadCount: () => get("/api/notifications/unread-count"),
  markRead: (id) => post(`/api/notifications/${id}/read`, undefined),
  markAllRead: () => post("/api/notifications/read-all", undefined),
};

/** The current task from a 409 body, whatever shape the server wraps it in ({task}, {detail: {task}}, or bare). */
export function conflictTask(err) {
  const b = err?.body;
  const candidates = [b?.task, b?.current, b?.detail?.task, b?.detail?.current, b?.detail, b];
  return candidates.find((c) => c && typeof c === "object" && c.id && c.version) || null;
}
