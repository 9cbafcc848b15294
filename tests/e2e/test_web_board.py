"""The Kanban page in a real browser (Playwright + Debian's Chromium) against `python -m boardcast_dev`.

Two browser contexts are two people: a drag in one shows in the other without a reload; a drag the server
refuses is rolled back with a visible message; tabs of one browser apply each event once; the live socket
gives up after five tries and offers a retry. Needs `playwright` (PyPI) and /usr/bin/chromium (Debian).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from boardcast_testkit import unique

CHROMIUM = os.environ.get("BOARDCAST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PASSWORD = "correct-horse-battery-staple"
WAIT_MS = 10_000
LIVE_MS = (
    20_000  # first connect: REST snapshot, gateway membership check, hello — slow on a loaded 2-core box
)

pytestmark = pytest.mark.timeout(240)


# ---------------------------------------------------------------------------------------------- environment


def require_browser() -> None:
    """Skip (or, with BOARDCAST_REQUIRE_SERVICES=1, fail) when Playwright or Debian's Chromium is missing."""
    missing = []
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing.append("the playwright package (PyPI)")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        missing.append(f"Chromium at {CHROMIUM} (apt-get install -y chromium)")
    if not missing:
        return
    why = "browser tests need " + " and ".join(missing)
    if os.environ.get("BOARDCAST_REQUIRE_SERVICES", "") not in ("", "0", "false", "no"):
        pytest.fail(why, pytrace=False)
    pytest.skip(why)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class DevServer:
    base_url: str
    log: Path

    def call(self, token: str | None, method: str, path: str, expect: int = 200, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        r = httpx.request(method, self.base_url + path, headers=headers, timeout=10.0, **kw)
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None


@contextmanager
def dev_server(workdir: Path, settings: dict[str, str] | None = None) -> Iterator[DevServer]:
    """`python -m boardcast_dev` on free ports with a fresh SQLite file; SIGTERM (then kill) after."""
    port, gateway_port = free_port(), free_port()
    env = {
        **os.environ,
        **(settings or {}),
        "BOARDCAST_PORT": str(port),
        "BOARDCAST_GATEWAY_PORT": str(gateway_port),
        "BOARDCAST_HOST": "127.0.0.1",
        "BOARDCAST_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'web-e2e.db'}",
    }
    for name in ("BOARDCAST_AMQP_URL", "BOARDCAST_REDIS_URL"):
        env.pop(name, None)  # the embedded bus and store of dev mode
    log = workdir / "dev-server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "boardcast_dev"],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = DevServer(f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise AssertionError(
                    f"boardcast_dev exited with {proc.returncode}:\n{log.read_text()[-3000:]}"
                )
            try:
                if httpx.get(f"{server.base_url}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"boardcast_dev not healthy within 60 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)  # a child process's port has no event to wait on: poll it with a deadline
        yield server
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@dataclass
class User:
    id: str
    email: str
    name: str
    token: str


def register(server: DevServer, name: str) -> User:
    email = f"{unique(name.lower())}@example.com"
    user = server.call(
        None, "POST", "/api/auth/register", 201, json={"email": email, "name": name, "password": PASSWORD}
    )
    token = server.call(None, "POST", "/api/auth/login", json={"email": email, "password": PASSWORD})[
        "access_token"
    ]
    return User(user["id"], email, name, token)


@dataclass
class Team:
    server: DevServer
    owner: User
    editor: User
    project_id: str
    tasks: dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    require_browser()
    with dev_server(tmp_path_factory.mktemp("web-e2e")) as s:
        yield s


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def make_team(server: DevServer, titles: tuple[str, ...]) -> Team:
    """A fresh project of two people (owner and editor) with these cards in To do."""
    owner, editor = register(server, "Olivia"), register(server, "Eddie")
    project = server.call(owner.token, "POST", "/api/projects", 201, json={"name": unique("Web board")})
    server.call(
        owner.token,
        "POST",
        f"/api/projects/{project['id']}/members",
        201,
        json={"user_id": editor.id, "role": "editor"},
    )
    tasks = {}
    for i, title in enumerate(titles):
        tasks[title] = server.call(
            owner.token,
            "POST",
            f"/api/projects/{project['id']}/tasks",
            201,
            json={"title": title, "status": "todo", "position": 1024.0 * (i + 1)},
        )
    return Team(server, owner, editor, project["id"], tasks)


@pytest.fixture
def team(server: DevServer) -> Team:
    return make_team(server, ("Write the brief", "Draw the mockups", "Book the venue"))


class Board:
    """One signed-in page on a project's board; JavaScript errors are collected and must stay empty."""

    def __init__(self, context: Any, team: Team, user: User, *, via_form: bool = False) -> None:
        from playwright.sync_api import expect

        self.context, self.team, self.user = context, team, user
        self.errors: list[str] = []
        self.page = context.new_page()
        self.console: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        base = team.server.base_url
        if via_form:
            self.page.goto(base + "/")
            self.page.get_by_label("Email").fill(user.email)
            self.page.get_by_label("Password").fill(PASSWORD)
            self.page.get_by_role("button", name="Sign in").click()
            expect(self.page.get_by_role("heading", name="Your projects")).to_be_visible(timeout=WAIT_MS)
        else:
            # Quicker than the form: store the session as the page does after a login (web/js/auth.js), unless
            # another page of this context has signed in already.
            self.page.goto(base + "/healthz")
            self.page.evaluate(
                """([token, id, name]) => {
                    if (localStorage.getItem("bc:auth")) return;
                    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
                    const exp = JSON.parse(atob(payload)).exp * 1000;
                    const session = { token, exp, issued: Date.now(), user_id: id, name };
                    localStorage.setItem("bc:auth", JSON.stringify(session));
                }""",
                [user.token, user.id, user.name],
            )
        self.page.goto(f"{base}/#/p/{team.project_id}")
        try:
            expect(self.live).to_have_attribute("data-status", "live", timeout=LIVE_MS)
        except AssertionError as exc:
            status = self.live.get_attribute("data-status") if self.live.count() else "no board"
            toasts = self.page.locator(".toast").all_inner_texts()
            log = team.server.log.read_text(errors="replace")[-3000:]
            raise AssertionError(
                f"board not Live ({status}) at {self.page.url}; toasts {toasts}; console {self.console[-10:]}"
                f"\n{log}"
            ) from exc

    @property
    def live(self) -> Any:
        return self.page.locator(".live")

    def card(self, title: str, status: str | None = None) -> Any:
        scope = f".column-{status} " if status else ""
        return self.page.locator(f"{scope}.card", has_text=title)

    def column(self, status: str) -> Any:
        return self.page.locator(f".column-{status} .column-list")


def new_context(browser: Any) -> Any:
    return browser.new_context(viewport={"width": 1400, "height": 900})


# ---------------------------------------------------------------------------------------------- tests


def demo_logins(server: DevServer) -> list[tuple[str, str]]:
    """The (email, password) pairs `make dev` printed, read from its output."""
    return re.findall(r"(\S+@\S+)\s*│\s*(\S+)\s*│\s*user\b", server.log.read_text(errors="replace"))


def test_a_demo_user_signs_in_and_sees_the_demo_board_live(
    browser: Any, server: DevServer, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    logins = demo_logins(server)
    assert logins, f"no demo logins printed:\n{server.log.read_text()[-2000:]}"
    email, password = logins[0]
    page = new_context(browser).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.base_url + "/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.locator(".project-card").first.click()

    expect(page.locator(".live")).to_have_attribute("data-status", "live", timeout=WAIT_MS)
    expect(page.locator(".live")).to_contain_text("Live")
    expect(page.locator(".card").first).to_be_visible()
    for status in ("todo", "in_progress", "blocked", "done"):
        expect(page.locator(f".column-{status} h2")).to_be_visible()
    page.screenshot(path=str(tmp_path / "demo-board.png"), full_page=True)
    assert errors == []


def test_register_create_a_project_and_land_on_its_empty_board(browser: Any, server: DevServer) -> None:
    from playwright.sync_api import expect

    page = new_context(browser).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.base_url + "/#/register")
    page.get_by_label("Name").fill("Rita Register")
    page.get_by_label("Email").fill(f"{unique('rita')}@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", name="Your projects")).to_be_visible(timeout=WAIT_MS)

    name = unique("Garden")
    form = page.get_by_role("form", name="Create project")
    form.get_by_label("Name").fill(name)
    form.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("heading", name=name)).to_be_visible(timeout=WAIT_MS)
    expect(page.locator(".live")).to_have_attribute("data-status", "live", timeout=LIVE_MS)
    expect(page.locator(".project-name .role")).to_have_text("owner")
    expect(page.locator(".card")).to_have_count(0)
    assert errors == []


def test_a_drag_in_one_browser_moves_the_card_in_the_other_without_reload(
    browser: Any, team: Team, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    owner = Board(new_context(browser), team, team.owner, via_form=True)
    editor = Board(new_context(browser), team, team.editor)
    expect(owner.live).to_contain_text("Live")
    expect(owner.page.locator(".presence")).to_contain_text("1 other here", timeout=WAIT_MS)
    editor.page.evaluate("window.__notReloaded = true")

    owner.card("Draw the mockups", "todo").drag_to(owner.column("in_progress"))

    expect(owner.card("Draw the mockups", "in_progress")).to_be_visible()
    expect(editor.card("Draw the mockups", "in_progress")).to_be_visible(timeout=WAIT_MS)
    expect(editor.card("Draw the mockups", "todo")).to_have_count(0)
    assert editor.page.evaluate("window.__notReloaded") is True
    task = team.tasks["Draw the mockups"]
    assert team.server.call(team.owner.token, "GET", f"/api/tasks/{task['id']}")["status"] == "in_progress"

    # Reorder inside a column: drop "Book the venue" on the top half of the first card.
    editor.card("Book the venue", "todo").drag_to(
        editor.card("Write the brief", "todo"), target_position={"x": 30, "y": 4}
    )
    expect(owner.page.locator(".column-todo .card").first).to_contain_text("Book the venue", timeout=WAIT_MS)
    expect(editor.page.locator(".column-todo .card").first).to_contain_text("Book the venue")
    owner.page.screenshot(path=str(tmp_path / "board.png"))
    assert owner.errors == [] and editor.errors == []


def test_create_edit_assign_comment_delete_restore_are_seen_live(browser: Any, team: Team) -> None:
    from playwright.sync_api import expect

    owner = Board(new_context(browser), team, team.owner)
    editor = Board(new_context(browser), team, team.editor)
    bell = editor.page.locator(".bell")
    unread_before = int(bell.get_attribute("data-unread") or 0)
    title = unique("Print posters")

    # Create through the dialog.
    owner.page.get_by_role("button", name="+ New task").click()
    owner.page.get_by_role("dialog").get_by_label("Title", exact=True).fill(title)
    owner.page.get_by_role("dialog").get_by_role("button", name="Create").click()
    expect(editor.card(title, "todo")).to_be_visible(timeout=WAIT_MS)

    # Edit and assign in the panel; the editor watches the same task's panel.
    editor.card(title).click()
    owner.card(title).click()
    panel = owner.page.get_by_role("dialog", name=title)
    panel.get_by_label("Title", exact=True).fill(f"{title} (A3)")
    panel.get_by_label("Assignee").select_option(label=team.editor.name)
    panel.get_by_role("button", name="Save").click()
    expect(editor.card(f"{title} (A3)").locator(".avatar")).to_have_attribute(
        "title", team.editor.name, timeout=WAIT_MS
    )
    expect(bell).to_have_attribute(
        "data-unread", str(unread_before + 1), timeout=WAIT_MS
    )  # "assigned to you"

    # A comment appears in the other person's open panel.
    panel.get_by_label("Comment", exact=True).fill("Use the matte paper")
    panel.get_by_role("button", name="Comment", exact=True).click()
    expect(editor.page.locator(".comment-list")).to_contain_text("Use the matte paper", timeout=WAIT_MS)
    panel.get_by_role("button", name="Edit comment").click()
    panel.get_by_role("textbox", name="Edited comment").fill("Use the glossy paper")
    panel.locator(".comment").get_by_role("button", name="Save").click()
    expect(editor.page.locator(".comment-list")).to_contain_text("Use the glossy paper", timeout=WAIT_MS)
    expect(editor.page.locator(".comment-list")).not_to_contain_text("matte")

    # Delete, then Undo (restore).
    owner.page.once("dialog", lambda d: d.accept())
    panel.get_by_role("button", name="Delete task").click()
    expect(editor.card(title)).to_have_count(0, timeout=WAIT_MS)
    expect(editor.page.locator(".panel-notice")).to_contain_text("deleted")
    owner.page.get_by_role("button", name="Undo").click()
    expect(editor.card(f"{title} (A3)", "todo")).to_be_visible(timeout=WAIT_MS)
    assert owner.errors == [] and editor.errors == []


def test_the_weekly_report_follows_changes_without_reload(browser: Any, team: Team) -> None:
    from playwright.sync_api import expect

    board = Board(new_context(browser), team, team.owner)
    board.page.locator('.tabs a[data-view="report"]').click()
    expect(board.page.get_by_role("heading", name="In progress")).to_be_visible(timeout=WAIT_MS)
    title = unique("Rehearse the talk")
    team.server.call(
        team.editor.token,
        "POST",
        f"/api/projects/{team.project_id}/tasks",
        201,
        json={"title": title, "status": "in_progress"},
    )
    section = board.page.locator(".report-section", has=board.page.get_by_role("heading", name="In progress"))
    expect(section).to_contain_text(title, timeout=WAIT_MS)
    assert board.errors == []


def test_cards_move_with_the_keyboard_too(browser: Any, team: Team) -> None:
    from playwright.sync_api import expect

    board = Board(new_context(browser), team, team.editor)
    board.card("Book the venue", "todo").focus()
    board.page.keyboard.press("Alt+ArrowRight")
    expect(board.card("Book the venue", "in_progress")).to_be_visible(timeout=WAIT_MS)
    expect(board.page.locator(".board ~ [aria-live]")).to_contain_text(
        "Moved “Book the venue” to In progress"
    )
    board.page.keyboard.press("Alt+ArrowLeft")  # focus stays on the moved card
    expect(board.card("Book the venue", "todo")).to_be_visible(timeout=WAIT_MS)
    expect(board.page.locator(".card.pending")).to_have_count(0, timeout=WAIT_MS)  # the server has answered
    task = team.tasks["Book the venue"]
    assert team.server.call(team.editor.token, "GET", f"/api/tasks/{task['id']}")["status"] == "todo"
    assert board.errors == []


def test_a_refused_drag_is_rolled_back_with_a_visible_message(browser: Any, team: Team) -> None:
    from playwright.sync_api import Route, expect

    board = Board(new_context(browser), team, team.editor)
    task = team.tasks["Write the brief"]

    # Hold the page's PATCH until someone else has changed the task: the page's If-Match version is then stale
    # and the real server refuses the move with 409.
    shown_at_once: list[int] = []

    def race(route: Route) -> None:
        shown_at_once.append(
            board.card("Write the brief", "done").count()
        )  # optimistic: moved before the reply
        team.server.call(
            team.owner.token, "PATCH", f"/api/tasks/{task['id']}", json={"title": "Write the brief v2"}
        )
        route.continue_()

    board.page.route(f"**/api/tasks/{task['id']}/status", race)
    board.card("Write the brief", "todo").drag_to(board.column("done"))

    expect(board.page.get_by_role("alert").filter(has_text="was undone")).to_be_visible(timeout=WAIT_MS)
    assert shown_at_once == [1]
    expect(board.card("Write the brief v2", "todo")).to_be_visible(timeout=WAIT_MS)
    expect(board.card("Write the brief", "done")).to_have_count(0)
    assert team.server.call(team.owner.token, "GET", f"/api/tasks/{task['id']}")["status"] == "todo"
    assert board.errors == []


def test_tabs_of_one_browser_apply_each_event_once(browser: Any, team: Team) -> None:
    from playwright.sync_api import expect

    context = new_context(browser)
    first = Board(context, team, team.owner)
    second = Board(context, team, team.owner)  # same context: shares localStorage and BroadcastChannel
    title = unique("Ship it")
    team.server.call(
        team.editor.token,
        "POST",
        f"/api/projects/{team.project_id}/tasks",
        201,
        json={"title": title, "status": "todo"},
    )

    for tab in (first, second):
        expect(tab.card(title, "todo")).to_have_count(1, timeout=WAIT_MS)
        created = tab.page.locator(".activity li", has_text=f"created “{title}”")
        expect(created).to_have_count(1)
    # Each tab got the event from its own socket and again from the other tab: both copies were seen by the
    # ledger, which kept one. The browser-wide ledger lists the event once.
    ids = first.page.evaluate(f"JSON.parse(localStorage.getItem('bc:ledger:{team.project_id}')).ids")
    assert len(ids) == len(set(ids)) and len(ids) >= 1
    assert first.errors == [] and second.errors == []


def test_a_dropped_socket_resumes_with_since_and_misses_nothing(browser: Any, team: Team) -> None:
    from playwright.sync_api import WebSocketRoute, expect

    context = new_context(browser)
    task = team.tasks["Book the venue"]
    sockets: list[WebSocketRoute] = []

    def through(ws: WebSocketRoute) -> None:
        sockets.append(ws)
        if len(sockets) == 2:
            # The page is disconnected right now: a change made meanwhile must come back through since=N.
            team.server.call(
                team.editor.token, "PATCH", f"/api/tasks/{task['id']}/status", json={"status": "blocked"}
            )
        ws.connect_to_server()

    context.route_web_socket(re.compile(r".*/ws/projects/.*"), through)
    board = Board(context, team, team.owner)
    sockets[0].close(code=1012, reason="replica restart")

    expect(board.card("Book the venue", "blocked")).to_be_visible(timeout=WAIT_MS)
    expect(board.live).to_have_attribute("data-status", "live")
    first, second = (parse_qs(urlsplit(ws.url).query) for ws in sockets[:2])
    assert second["since"] == first["since"]  # resumed from the last seq it had applied
    moved = board.page.locator(".activity li", has_text="moved “Book the venue” to blocked")
    expect(moved).to_have_count(1)
    assert board.errors == []


def test_after_five_failed_reconnects_the_page_is_offline_until_retry(browser: Any, team: Team) -> None:
    from playwright.sync_api import WebSocketRoute, expect

    context = new_context(browser)
    sockets: list[WebSocketRoute] = []
    gateway_up = threading.Event()
    gateway_up.set()

    def flaky(ws: WebSocketRoute) -> None:
        sockets.append(ws)
        if gateway_up.is_set():
            ws.connect_to_server()
        else:
            ws.close(code=1011, reason="gateway down")

    context.route_web_socket(re.compile(r".*/ws/projects/.*"), flaky)
    board = Board(context, team, team.owner)
    gateway_up.clear()
    sockets[0].close(code=1012, reason="replica restart")

    expect(board.live).to_have_attribute("data-status", "reconnecting", timeout=WAIT_MS)
    # Backoff doubles from 0.5 s with jitter (at most 0.5 + 1 + 2 + 4 + 8 s), then it gives up.
    expect(board.live).to_have_attribute("data-status", "offline", timeout=30_000)
    retry = board.page.get_by_role("button", name="Retry")
    expect(retry).to_be_visible()
    assert len(sockets) == 1 + 5  # the live socket, then five tries

    gateway_up.set()
    retry.click()
    expect(board.live).to_have_attribute("data-status", "live", timeout=WAIT_MS)
    expect(retry).to_be_hidden()
    assert board.errors == []


def test_resync_required_refetches_the_board(browser: Any, team: Team) -> None:
    from playwright.sync_api import WebSocketRoute, expect

    context = new_context(browser)
    task = team.tasks["Write the brief"]
    lose_next_event = threading.Event()

    def lossy(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def from_server(message: str | bytes) -> None:
            if lose_next_event.is_set() and "event_id" in str(message):
                # The room lost this event: tell the page as the gateway would, instead of delivering it.
                lose_next_event.clear()
                ws.send(json.dumps({"type": "resync_required", "seq": json.loads(message)["seq"]}))
                return
            ws.send(message)

        server.on_message(from_server)

    context.route_web_socket(re.compile(r".*/ws/projects/.*"), lossy)
    board = Board(context, team, team.owner)
    lose_next_event.set()
    team.server.call(team.editor.token, "PATCH", f"/api/tasks/{task['id']}/status", json={"status": "done"})

    expect(board.card("Write the brief", "done")).to_be_visible(timeout=WAIT_MS)
    assert not lose_next_event.is_set()  # the event really was withheld: only the refetch can show the move
    assert board.errors == []


def test_a_removed_member_is_told_and_leaves_the_board(browser: Any, team: Team) -> None:
    from playwright.sync_api import expect

    board = Board(new_context(browser), team, team.editor)
    team.server.call(
        team.owner.token, "DELETE", f"/api/projects/{team.project_id}/members/{team.editor.id}", 204
    )

    expect(board.page.get_by_role("alert").filter(has_text="access")).to_be_visible(timeout=WAIT_MS)
    expect(board.page.get_by_role("heading", name="Your projects")).to_be_visible(timeout=WAIT_MS)
    assert board.page.url.endswith("#/projects")
    assert board.errors == []


def test_a_rejected_token_sends_the_page_back_to_login(browser: Any, team: Team) -> None:
    from playwright.sync_api import expect

    board = Board(new_context(browser), team, team.owner)
    # A token the server no longer accepts (here: a forged signature) while the page still thinks it is valid.
    board.page.evaluate(
        """() => {
            const s = JSON.parse(localStorage.getItem("bc:auth"));
            s.token = s.token.slice(0, s.token.lastIndexOf(".") + 1) + "forged";
            localStorage.setItem("bc:auth", JSON.stringify(s));
        }"""
    )
    board.page.reload()
    expect(board.page.get_by_role("button", name="Sign in")).to_be_visible(timeout=WAIT_MS)
    expect(board.page.get_by_role("alert")).to_contain_text("sign in again")
    assert board.page.evaluate("localStorage.getItem('bc:auth')") is None
    assert board.errors == []


def test_the_token_is_refreshed_before_it_expires(browser: Any, team: Team) -> None:
    board = Board(new_context(browser), team, team.owner)
    # Age the stored session so that 80 % of its life is reached half a second from now, then let the page's
    # own timer do the refresh against the real POST /api/auth/refresh.
    refreshed = board.page.evaluate(
        """async () => {
            const auth = await import("/js/auth.js");
            const { api } = await import("/js/api.js");
            const s = auth.session();
            const issued = 5 * (Date.now() + 500) - 4 * s.exp;
            localStorage.setItem("bc:auth", JSON.stringify({ ...s, issued }));
            auth.startRefreshing(() => api.refresh());
            const tick = () => new Promise((r) => setTimeout(r, 100));
            for (let i = 0; i < 100 && auth.session().issued === issued; i++) await tick();
            const now = auth.session();
            const me = await fetch("/api/me", { headers: { Authorization: `Bearer ${now.token}` } });
            return { changed: now.issued !== issued, status: me.status, expiresLater: now.exp >= s.exp };
        }"""
    )
    assert refreshed == {"changed": True, "status": 200, "expiresLater": True}
    assert board.errors == []


def test_open_sockets_outlive_the_token_they_were_opened_with(
    browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Tokens of 30 s (the shortest the settings allow): the page refreshes its token and hands it to its open
    sockets ({"type":"auth"}), so the board's and the bell's sockets stay the ones it opened past the first
    token's expiry, and still carry events."""
    from playwright.sync_api import expect

    with dev_server(tmp_path_factory.mktemp("short-tokens"), {"BOARDCAST_TOKEN_TTL_SECONDS": "30"}) as srv:
        team = make_team(srv, ("Outlast",))
        owner, task = team.owner, team.tasks["Outlast"]
        context = new_context(browser)
        opened: list[str] = []
        context.on("page", lambda page: page.on("websocket", lambda ws: opened.append(ws.url)))
        board = Board(context, team, owner)
        for _ in range(100):  # the bell connects after /api/me: give it its moment
            sockets = [url for url in opened if "/ws/" in url]
            if len(sockets) >= 2:
                break
            board.page.wait_for_timeout(100)
        assert len(sockets) == 2, sockets  # the board's room and the bell
        board.page.wait_for_timeout(36_000)  # past the first token's expiry (and the gateway's sweep)
        expect(board.live).to_have_attribute("data-status", "live")
        assert [url for url in opened if "/ws/" in url] == sockets, "a socket was closed and opened again"
        fresh = srv.call(
            None, "POST", "/api/auth/login", json={"email": team.editor.email, "password": PASSWORD}
        )
        srv.call(
            fresh["access_token"], "PATCH", f"/api/tasks/{task['id']}/status", json={"status": "in_progress"}
        )
        expect(board.card("Outlast", "in_progress")).to_be_visible(timeout=WAIT_MS)
        assert board.errors == []
        context.close()


def test_a_member_made_viewer_gets_a_read_only_board_at_once(browser: Any, team: Team) -> None:
    from playwright.sync_api import expect

    board = Board(new_context(browser), team, team.editor)
    expect(board.card("Write the brief")).to_have_attribute("draggable", "true")
    team.server.call(
        team.owner.token,
        "PATCH",
        f"/api/projects/{team.project_id}/members/{team.editor.id}",
        json={"role": "viewer"},
    )
    expect(board.card("Write the brief")).to_have_attribute("draggable", "false", timeout=WAIT_MS)
    expect(board.page.get_by_role("button", name="+ New task")).to_be_hidden()
    expect(board.page.locator(".project-name .role")).to_have_text("viewer")
    assert board.errors == []


def test_a_board_that_failed_to_load_comes_back_with_retry(browser: Any, team: Team) -> None:
    from playwright.sync_api import Route, expect

    context = new_context(browser)
    Board(context, team, team.owner).page.close()  # signs in; the token stays in this context's storage
    page = context.new_page()
    failed: list[str] = []

    def down(route: Route) -> None:
        failed.append(route.request.url)
        route.abort()

    page.route(f"**/api/projects/{team.project_id}/tasks", down)
    page.goto(f"{team.server.base_url}/#/p/{team.project_id}")
    expect(page.get_by_role("alert").filter(has_text="Could not load the board")).to_be_visible(
        timeout=WAIT_MS
    )
    expect(page.locator(".live")).to_have_attribute("data-status", "offline")

    page.unroute(f"**/api/projects/{team.project_id}/tasks")
    page.get_by_role("button", name="Retry").click()
    expect(page.locator(".live")).to_have_attribute("data-status", "live", timeout=WAIT_MS)
    expect(page.locator(".column-todo .card")).to_have_count(3)
    assert len(failed) == 1


def test_the_live_socket_gives_up_after_five_tries_and_offers_a_retry(
    browser: Any, server: DevServer
) -> None:
    page = new_context(browser).new_page()
    page.goto(server.base_url + "/")
    dead = free_port()  # nothing listens here
    result = page.evaluate(
        """async (url) => {
            const { LiveSocket } = await import("/js/socket.js");
            const statuses = []; let attempts = 0;
            const sock = new LiveSocket({ url: () => { attempts++; return url; }, onMessage: () => {},
                                          onStatus: (s) => statuses.push(s), baseDelay: 20, maxDelay: 80 });
            sock.start();
            const tick = () => new Promise((r) => setTimeout(r, 25));
            for (let i = 0; i < 200 && sock.status !== "offline"; i++) await tick();
            const delays = [1, 2, 3, 4, 5, 6, 7].map((n) => LiveSocket.backoff(n, 500, 10000));
            return { statuses, attempts, delays };
        }""",
        f"ws://127.0.0.1:{dead}/ws/projects/x",
    )
    assert result["statuses"][0] == "connecting"
    assert result["statuses"][-1] == "offline"
    assert result["attempts"] == 6  # the first try and five retries
    for n, delay in enumerate(result["delays"], start=1):
        ceiling = min(10000, 500 * 2 ** (n - 1))
        assert ceiling / 2 <= delay <= ceiling


def test_the_ledger_applies_in_seq_order_and_drops_duplicates(browser: Any, server: DevServer) -> None:
    page = new_context(browser).new_page()
    page.goto(server.base_url + "/")
    applied = page.evaluate(
        """async () => {
            const { EventLedger } = await import("/js/ledger.js");
            const seen = [];
            const ledger = new EventLedger("p-" + Math.random(), { apply: (ev) => seen.push(ev.seq) });
            ledger.reset(10);
            const ev = (seq, id = "e" + seq) => ({ event_id: id, seq, type: "task_updated", data: {} });
            for (const e of [ev(9), ev(12), ev(11), ev(11), ev(13, "e12"), ev(13), ev(12)]) ledger.offer(e);
            ledger.close();
            return seen;
        }"""
    )
    # 9 predates the snapshot; 12 waits for 11; the repeated 11 and 12 and a reused event_id are dropped.
    assert applied == [11, 12, 13]
