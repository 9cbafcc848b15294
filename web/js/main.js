// Entry point: the app shell (top bar, bell) and the hash router between login, projects and a project page.

import { api, setUnauthorizedHandler } from "./api.js";
import * as auth from "./auth.js";
import { renderLogin } from "./login.js";
import { createBell } from "./notifications.js";
import { createProjectPage } from "./projectpage.js";
import { renderProjects } from "./projects.js";
import { avatar, h, mount } from "./ui.js";

const app = document.getElementById("app");
const userBox = document.getElementById("user");
let config = { ws_url: null };
let me = null;
let bell = null;
let page = null;
let loginMessage = null;

const navigate = (hash) => {
  if (location.hash === hash) route();
  else location.hash = hash;
};

function signOut(message = null) {
  loginMessage = message;
  page?.destroy();
  page = null;
  bell?.stop();
  bell = null;
  me = null;
  userBox.replaceChildren();
  if (auth.session()) auth.clear();
  navigate("#/login");
}

setUnauthorizedHandler(() => {
  if (me) signOut("Your session has ended. Please sign in again.");
});

// Logged out or switched user in another tab.
auth.onChange((s) => {
  if (!s && me) signOut("You were signed out.");
  else if (s && me && s.user_id && s.user_id !== me.id) location.reload();
});

let meLoading = null;

// One /api/me per sign-in, however many routes ask for it at once.
function ensureMe() {
  if (me) return Promise.resolve(me);
  meLoading ||= loadMe().finally(() => (meLoading = null));
  return meLoading;
}

async function loadMe() {
  const who = await api.me();
  if (!who.id && who.user_id) who.id = who.user_id;
  me = who;
  bell = createBell({
    wsUrl: config.ws_url,
    onUnauthorized: () => signOut("Your session has ended. Please sign in again."),
    openTask: (projectId, taskId) => navigate(`#/p/${projectId}/t/${taskId}`),
  });
  mount(userBox,
    bell.el,
    h("span", { class: "who" }, avatar(me, { size: "sm" }), h("span", { class: "who-name" }, me.name)),
    h("button", { class: "btn btn-small", type: "button", onclick: () => signOut() }, "Sign out"),
  );
  return me;
}

let routeSeq = 0;

/** Routes: #/login, #/register, #/projects, #/p/<id>[/<view>|/t/<taskId>]. */
async function route() {
  // A later hash change wins: an earlier route() still awaiting /api/me must not render over it.
  const mine = ++routeSeq;
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  const [head, id, sub, taskId] = parts;
  if (head === "login" || head === "register" || !auth.session()) {
    page?.destroy();
    page = null;
    if (auth.session() && (head === "login" || head === "register")) return navigate("#/projects");
    document.title = "Sign in · Boardcast";
    renderLogin(app, { mode: head === "register" ? "register" : "login", message: loginMessage, navigate });
    loginMessage = null;
    if (head !== "login" && head !== "register") history.replaceState(null, "", "#/login");
    return;
  }
  try {
    await ensureMe();
    if (mine !== routeSeq) return;
  } catch (err) {
    if (mine !== routeSeq) return;
    if (err.status === 401) return signOut("Your session has ended. Please sign in again.");
    mount(app, h("p", { class: "error-text", role: "alert" }, "The server cannot be reached. Reload to try again."));
    return;
  }
  if (head === "p" && id) {
    if (page?.projectId !== id) {
      page?.destroy();
      page = createProjectPage(app, { projectId: id, me, config, navigate,
        onUnauthorized: () => signOut("Your session has ended. Please sign in again.") });
    }
    page.show(sub === "t" || !sub ? "board" : sub, sub === "t" ? taskId : null);
    return;
  }
  page?.destroy();
  page = null;
  document.title = "Projects · Boardcast";
  renderProjects(app, { navigate });
}

async function boot() {
  config = await api.config();
  auth.startRefreshing(() => api.refresh());
  window.addEventListener("hashchange", route);
  route();
}

boot();
