// The board's local state (tasks, members, presence) and how each SPEC §4 event changes it.
//
// Task events carry the whole task with its version, so applying one is "keep the newer version": replaying an
// event the REST snapshot already contains changes nothing. Views subscribe and re-render what changed.

const GAP = 1024;

export class BoardStore {
  constructor(project) {
    this.project = project;
    this.tasks = new Map();
    this.deleted = new Map(); // tasks removed while the board was open, for the Trash list
    this.members = [];
    this.presence = [];
    this.listeners = new Set();
  }

  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(change) {
    for (const fn of this.listeners) fn(change);
  }

  load(tasks) {
    this.tasks = new Map(tasks.filter((t) => !t.is_deleted).map((t) => [t.id, t]));
    this.emit({ kind: "reset" });
  }

  /** Keep the task if it is newer than ours (or new). Returns true when something changed. */
  upsert(task, { force = false } = {}) {
    if (!task || !task.id) return false;
    const have = this.tasks.get(task.id);
    if (!force && have && (have.version || 0) >= (task.version || 0) && !have._optimistic) return false;
    if (task.is_deleted) return this.remove([task.id]);
    this.tasks.set(task.id, task);
    this.deleted.delete(task.id);
    this.emit({ kind: "task", id: task.id, task });
    return true;
  }

  remove(ids) {
    let changed = false;
    for (const id of ids) {
      const t = this.tasks.get(id);
      if (!t) continue;
      this.tasks.delete(id);
      this.deleted.set(id, t);
      changed = true;
    }
    if (changed) this.emit({ kind: "removed", ids });
    return changed;
  }

  /** Apply one event envelope of SPEC §4. */
  applyEvent(ev) {
    const d = ev.data || {};
    switch (ev.type) {
      case "task_created":
      case "task_updated":
      case "task_status_changed":
      case "task_assigned":
        this.upsert(d.task);
        break;
      case "task_restored":
        this.upsert(d.task);
        for (const id of d.restored_ids || []) {
          const t = this.deleted.get(id);
          if (t && id !== d.task?.id && !this.tasks.has(id)) this.upsert({ ...t, is_deleted: false }, { force: true });
        }
        break;
      case "task_deleted":
        this.remove(d.deleted_ids?.length ? d.deleted_ids : [d.task_id]);
        break;
      case "comment_created":
      case "comment_updated":
      case "comment_deleted":
        this.emit({ kind: "comment", type: ev.type, data: d, event: ev });
        break;
      case "member_added":
      case "member_removed":
      case "member_role_changed":
        this.emit({ kind: "member", type: ev.type, data: d, event: ev });
        break;
      default:
        break; // a newer event type this page does not know: ignoring it is safe
    }
  }

  setMembers(members) {
    this.members = members;
    this.emit({ kind: "members" });
  }

  setPresence(presence) {
    this.presence = presence || [];
    this.emit({ kind: "presence" });
  }

  memberName(userId) {
    if (!userId) return null;
    const m = this.members.find((x) => (x.user_id || x.id) === userId);
    return m?.name || m?.user?.name || m?.email || null;
  }

  /** Top-level cards of one column, ordered by position. */
  column(status) {
    return [...this.tasks.values()]
      .filter((t) => t.status === status && !t.parent_id)
      .sort((a, b) => a.position - b.position || String(a.id).localeCompare(String(b.id)));
  }

  subtasks(parentId) {
    return [...this.tasks.values()].filter((t) => t.parent_id === parentId).sort((a, b) => a.position - b.position);
  }

  /**
   * Optimistic move: change status/position locally at once and return an undo function. The undo restores
   * the old place only if nothing newer (a later event) has replaced the task meanwhile.
   */
  moveLocal(id, status, position) {
    const before = this.tasks.get(id);
    if (!before) return () => {};
    const moved = { ...before, status, position, _optimistic: true };
    this.tasks.set(id, moved);
    this.emit({ kind: "task", id, task: moved });
    return () => {
      if (this.tasks.get(id) !== moved) return;
      this.tasks.set(id, before);
      this.emit({ kind: "task", id, task: before });
    };
  }
}

/** The float position for a card dropped between `before` and `after` (either may be missing). */
export function positionBetween(before, after) {
  const a = before?.position;
  const b = after?.position;
  if (a === undefined && b === undefined) return GAP;
  if (a === undefined) return b - GAP;
  if (b === undefined) return a + GAP;
  return (a + b) / 2;
}
