"""The ``boardcast`` command: create admins, run migrations, seed demo data (same settings and database)."""

from __future__ import annotations

import asyncio
import secrets
from typing import Annotated

import typer
from rich.console import Console

from tasks_api.settings import load_settings

app = typer.Typer(help="Boardcast administration (tasks-api database).", no_args_is_help=True)
admin_app = typer.Typer(help="Manage administrators.", no_args_is_help=True)
demo_app = typer.Typer(help="Demo data.", no_args_is_help=True)
app.add_typer(admin_app, name="admin")
app.add_typer(demo_app, name="demo")
console = Console(stderr=True)


@app.command()
def migrate() -> None:
    """Bring the database schema to the latest migration."""
    from tasks_api.migrate import upgrade

    settings = load_settings()
    upgrade(settings.database_url)
    console.print("[green]database is up to date[/green]")


@admin_app.command("create")
def admin_create(
    email: str,
    name: Annotated[str | None, typer.Option(help="Display name (default: the part before @)")] = None,
    password: Annotated[
        str | None, typer.Option(help="Password; prompted for when omitted, generated with --generate")
    ] = None,
    generate: Annotated[bool, typer.Option("--generate", help="Generate and print a password")] = False,
) -> None:
    """Create an administrator, or make an existing user one (their password is kept)."""
    from tasks_api.accounts_admin import ensure_admin

    if password is None and generate:
        password = secrets.token_urlsafe(16)
        typer.echo(f"generated password: {password}")
    elif password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        raise typer.BadParameter("the password needs at least 8 characters", param_hint="--password")
    settings = load_settings()
    outcome = asyncio.run(ensure_admin(settings, email, name or email.split("@")[0], password))
    console.print(f"[green]{outcome}[/green]: {email}")


@demo_app.command("seed")
def demo_seed() -> None:
    """Seed the demo admin, two demo users and a demo project (idempotent); print the logins."""
    from tasks_api.demo import seed_demo_database

    for login in asyncio.run(seed_demo_database(load_settings())):
        typer.echo(f"{login.email}  {login.password}  ({login.role})")


def main() -> None:
    app()
