// The access token: kept in localStorage (shared by the tabs of this browser) and refreshed before it expires.

const KEY = "bc:auth";
const listeners = new Set();
let refreshTimer = null;
let refresher = null;

/** The stored session: {token, exp (epoch ms), user_id, name} or null. */
export function session() {
  try {
    const s = JSON.parse(localStorage.getItem(KEY) || "null");
    return s && s.token && s.exp > Date.now() ? s : null;
  } catch {
    return null;
  }
}

export function token() {
  return session()?.token || null;
}

/** Claims of a JWT without verifying it (the server verifies; the page only reads sub, name and exp). */
export function claims(jwt) {
  try {
    const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = decodeURIComponent(
      atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "="))
        .split("")
        .map((c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0"))
        .join(""),
    );
    return JSON.parse(json);
  } catch {
    return {};
  }
}

/** Store a login/refresh response {access_token, expires_in}. */
export function store(response) {
  const c = claims(response.access_token);
  const exp = c.exp ? c.exp * 1000 : Date.now() + (response.expires_in || 900) * 1000;
  const s = { token: response.access_token, exp, issued: Date.now(), user_id: c.sub || null, name: c.name || null };
  localStorage.setItem(KEY, JSON.stringify(s));
  schedule();
  emit(s);
}

export function clear() {
  localStorage.removeItem(KEY);
  clearTimeout(refreshTimer);
  emit(null);
}

/** Called with the new session (or null on logout), in this tab and when another tab changes it. */
export function onChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function emit(s) {
  for (const fn of listeners) fn(s);
}

// Another tab logged in, refreshed or logged out: follow it, so tabs never disagree about who is signed in.
window.addEventListener("storage", (e) => {
  if (e.key !== KEY) return;
  schedule();
  emit(session());
});

/**
 * Install the function that trades the current token for a new one (POST /api/auth/refresh) and keep a timer
 * that calls it when 80 % of the token's life has passed. Tabs share the token, so whichever tab fires first
 * refreshes and the others pick the new one up from the storage event (their timers are then rescheduled).
 */
export function startRefreshing(fn) {
  refresher = fn;
  schedule();
}

function schedule() {
  clearTimeout(refreshTimer);
  const s = session();
  if (!s || !refresher) return;
  const life = Math.max(s.exp - (s.issued || Date.now()), 10_000);
  const at = (s.issued || Date.now()) + life * 0.8;
  const wait = Math.max(1000, Math.min(at - Date.now(), s.exp - Date.now() - 5000));
  // Small jitter so two tabs with the same token rarely refresh at the same instant.
  refreshTimer = setTimeout(refreshNow, wait + Math.random() * 500);
}

export async function refreshNow({ force = false } = {}) {
  const s = session();
  if (!s || !refresher) return;
  // Another tab may have refreshed already (its new token arrived through storage): then just reschedule.
  if (!force && s.issued && Date.now() < s.issued + (s.exp - s.issued) * 0.75) return schedule();
  try {
    store(await refresher());
  } catch (err) {
    // 401: the token is gone; anything else (offline): try again shortly while the token still lives.
    if (err?.status === 401) clear();
    else refreshTimer = setTimeout(refreshNow, 5000);
  }
}
