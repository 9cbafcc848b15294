"""SPEC §3's notification rules as pure functions: who is told, never the actor, at most once per event."""

from __future__ import annotations

import uuid

from notifier.rules import RuleContext, TaskInfo, drafts_for

from .conftest import Board, admin_changed


def users(drafts: list) -> dict[uuid.UUID, str]:  # type: ignore[type-arg]
    return {d.user_id: d.kind for d in drafts}


ALICE, BOB, CAROL, DAVE = (uuid.uuid4() for _ in range(4))


def test_assignment_tells_the_new_assignee_only(board: Board) -> None:
    task = board.task(assignee_id=BOB, created_by=CAROL, title="Ship it")
    drafts = drafts_for(board.assigned(ALICE, task, previous=DAVE), RuleContext())
    assert users(drafts) == {BOB: "task_assigned"}
    assert "Ship it" in drafts[0].body


def test_self_assignment_tells_nobody(board: Board) -> None:
    task = board.task(assignee_id=ALICE, created_by=CAROL)
    assert drafts_for(board.assigned(ALICE, task), RuleContext()) == []


def test_unassignment_tells_nobody(board: Board) -> None:
    task = board.task(assignee_id=None, created_by=CAROL)
    assert drafts_for(board.assigned(ALICE, task, previous=BOB), RuleContext()) == []


def test_status_change_tells_assignee_and_creator_once_each(board: Board) -> None:
    task = board.task(assignee_id=BOB, created_by=CAROL, status="done")
    drafts = drafts_for(board.status(ALICE, task, previous="in_progress"), RuleContext())
    assert users(drafts) == {BOB: "task_status_changed", CAROL: "task_status_changed"}
    assert "from In progress to Done" in drafts[0].body
    same = board.task(assignee_id=BOB, created_by=BOB, status="blocked")
    assert users(drafts_for(board.status(ALICE, same), RuleContext())) == {BOB: "task_status_changed"}
    by_creator = board.task(assignee_id=BOB, created_by=ALICE, status="blocked")
    assert users(drafts_for(board.status(ALICE, by_creator), RuleContext())) == {BOB: "task_status_changed"}


def test_delete_tells_every_assignee_in_the_cascade_but_the_actor(board: Board) -> None:
    task_id = uuid.uuid4()
    event = board.deleted(ALICE, task_id, [BOB, CAROL, ALICE], n=3)
    drafts = drafts_for(event, RuleContext(task=TaskInfo("Old work", BOB, CAROL)))
    assert users(drafts) == {BOB: "task_deleted", CAROL: "task_deleted"}
    assert drafts[0].body == "“Old work” was deleted with 2 subtasks."
    assert drafts_for(board.deleted(ALICE, task_id, [BOB]), RuleContext())[0].body == "A task was deleted."


def test_member_added_tells_the_new_member(board: Board) -> None:
    assert users(drafts_for(board.member_added(ALICE, BOB), RuleContext())) == {BOB: "member_added"}
    assert drafts_for(board.member_added(ALICE, ALICE), RuleContext()) == []


def test_comment_tells_mentioned_and_assignee_once_each(board: Board) -> None:
    task_id = uuid.uuid4()
    ctx = RuleContext(task=TaskInfo("Fix login", BOB, CAROL))
    # Bob is both mentioned and the assignee: one notification, the mention.
    drafts = drafts_for(board.comment(ALICE, task_id, [BOB, DAVE, ALICE]), ctx)
    assert users(drafts) == {BOB: "mentioned", DAVE: "mentioned"}
    assert drafts[0].body.startswith("On “Fix login”: ")
    assert users(drafts_for(board.comment(ALICE, task_id, []), ctx)) == {BOB: "commented"}
    # The assignee commenting on their own task is told nothing.
    assert drafts_for(board.comment(BOB, task_id, []), ctx) == []


def test_comment_edit_tells_only_newly_mentioned(board: Board) -> None:
    task_id, comment_id = uuid.uuid4(), uuid.uuid4()
    ctx = RuleContext(task=TaskInfo("Fix login", BOB, CAROL), already_mentioned=frozenset({DAVE}))
    event = board.comment(ALICE, task_id, [DAVE, CAROL], comment_id=comment_id, updated=True)
    assert users(drafts_for(event, ctx)) == {CAROL: "mentioned"}


def test_long_comment_is_excerpted(board: Board) -> None:
    drafts = drafts_for(board.comment(ALICE, uuid.uuid4(), [BOB], body="word " * 100), RuleContext())
    assert len(drafts[0].body) <= 140 and drafts[0].body.endswith("…")


def test_admin_change_alerts_every_admin_but_the_actor() -> None:
    event = admin_changed(ALICE, DAVE, [ALICE, BOB, CAROL, DAVE])
    drafts = drafts_for(event, RuleContext())
    assert users(drafts) == {BOB: "security_alert", CAROL: "security_alert", DAVE: "security_alert"}
    assert str(DAVE) in drafts[0].body
