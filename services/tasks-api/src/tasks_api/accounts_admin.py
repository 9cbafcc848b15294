"""Administrator creation outside the API (the first admin cannot be made through it)."""

from __future__ import annotations

from boardcast_contracts import AdminChangedData
from sqlalchemy import select

from tasks_api.db.engine import build_engine, build_sessionmaker
from tasks_api.db.models import User
from tasks_api.handlers.users import create_user
from tasks_api.outbox.tx import Tx
from tasks_api.security import Passwords
from tasks_api.settings import Settings


async def grant_admin(tx: Tx, user: User) -> None:
    """Make ``user`` an admin: a critical audit entry and an admin_changed event, in the caller's commit."""
    user.is_admin = True
    admin_ids = set(await tx.session.scalars(select(User.id).where(User.is_admin.is_(True))))
    admin_ids.add(user.id)
    tx.audit(user.id, "user.admin_create", "user", user.id, "critical", before=None, after={"is_admin": True})
    tx.emit(
        "admin_changed",
        None,
        user.id,
        AdminChangedData(user_id=user.id, is_admin=True, admin_ids=sorted(admin_ids)),
    )


async def ensure_admin(settings: Settings, email: str, name: str, password: str) -> str:
    """Create the admin, or promote the user with that email: "created", "promoted" or "already an admin"."""
    engine = build_engine(settings.database_url, pool_size=1)
    try:
        sessions = build_sessionmaker(engine)
        async with sessions() as session:
            tx = Tx(session)
            existing = await session.scalar(select(User).where(User.email == email.strip().lower()))
            if existing is not None:
                if existing.is_admin:
                    return "already an admin"
                await grant_admin(tx, existing)
                await tx.commit()
                return "promoted"
        async with sessions() as session:
            tx = Tx(session)
            created = await create_user(tx, Passwords(settings), email, name, password)
            user = await session.get(User, created.id)
            assert user is not None
            await grant_admin(tx, user)
            await tx.commit()
            return "created"
    finally:
        await engine.dispose()
