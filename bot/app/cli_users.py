"""``cacwatch users …``: the accounts of the self-service side (the same rows as ``/signin``).

- ``users add EMAIL --role operator|member [--name N] [--password-env VAR | --no-password]``
- ``users list`` · ``users disable EMAIL`` (``--enable`` undoes it) · ``users set-password EMAIL``

A password is read from a prompt (typed twice, not echoed) or from the environment variable
named by ``--password-env``; never from an argument (it would sit in the shell history and in
``ps``). ``--no-password`` makes an account that signs in only through ``web.proxy_auth``.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from bot.app import cli_common
from bot.app.cli_common import fail as _fail

if TYPE_CHECKING:
    from storage.db import Database

__all__ = ["users_app"]

users_app = typer.Typer(help="Accounts for the web app's self-service side and console.", no_args_is_help=True)

_PasswordEnv = Annotated[
    Optional[str], typer.Option("--password-env", metavar="VAR", help="Read the password from this environment variable")
]


def _password(env: str | None) -> str:
    from bot.web.users import check_password

    if env is not None:
        value = os.environ.get(env)
        if value is None:
            raise _fail(f"--password-env: the environment variable {env} is not set", 2)
    elif not sys.stdin.isatty():
        # A script piping the password on stdin: one line.
        value = sys.stdin.readline().rstrip("\r\n")
    else:
        value = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        check_password(value)
    except ValueError as err:
        raise _fail(str(err), 2) from None
    return value


def _db() -> "Database":
    return cli_common.database(cli_common.settings(for_reading=True))


@users_app.command("add")
def users_add(
    email: Annotated[str, typer.Argument(help="Email address (the sign-in name)")],
    role: Annotated[str, typer.Option(help="operator or member")] = "member",
    name: Annotated[str, typer.Option(help="Display name")] = "",
    password_env: _PasswordEnv = None,
    no_password: Annotated[bool, typer.Option("--no-password", help="Sign-in only through web.proxy_auth")] = False,
) -> None:
    """Add an account."""
    from bot.web.users import add_user, clean_email, clean_name, clean_role

    try:
        clean_email(email)
        clean_role(role)
        clean_name(name)
    except ValueError as err:
        raise _fail(str(err), 2) from None
    password = None if no_password else _password(password_env)
    db = _db()
    try:
        account = add_user(db, email, role=role, password=password, name=name)
    except ValueError as err:
        raise _fail(str(err), 2) from None
    finally:
        db.dispose()
    print(f"added {account.email} ({account.role})")


@users_app.command("list")
def users_list() -> None:
    """Every account: role, state, last sign-in."""
    from rich.table import Table

    from bot.web.users import list_users

    settings = cli_common.settings(for_reading=True)
    db = cli_common.read_database(settings)
    try:
        users = list_users(db)
    finally:
        db.dispose()
    table = Table(title="Accounts", title_justify="left")
    for column in ("id", "email", "name", "role", "state", "password", "last sign-in"):
        table.add_column(column, overflow="fold")
    for u in users:
        table.add_row(
            str(u.id), u.email, u.name, u.role, "disabled" if u.disabled else "active", "set" if u.has_password else "proxy only",
            u.last_sign_in_at.strftime("%Y-%m-%d %H:%M UTC") if u.last_sign_in_at else "never",
        )
    cli_common.console().print(table)


@users_app.command("disable")
def users_disable(
    email: Annotated[str, typer.Argument(help="Email address")],
    enable: Annotated[bool, typer.Option("--enable", help="Enable it again instead")] = False,
) -> None:
    """Disable an account: its sessions end and its API tokens stop working (--enable undoes it)."""
    from bot.web.users import set_disabled, user_by_email

    db = _db()
    try:
        try:
            account = user_by_email(db, email)
        except ValueError as err:
            raise _fail(str(err), 2) from None
        if account is None:
            raise _fail(f"no account for {email.strip().lower()}", 1)
        set_disabled(db, account.id, not enable)
    finally:
        db.dispose()
    print(f"{'enabled' if enable else 'disabled'} {account.email}")


@users_app.command("set-password")
def users_set_password(
    email: Annotated[str, typer.Argument(help="Email address")],
    password_env: _PasswordEnv = None,
) -> None:
    """Set an account's password (its browser sessions end; API tokens stay)."""
    from bot.web.users import clean_email, set_password

    try:
        clean_email(email)
    except ValueError as err:
        raise _fail(str(err), 2) from None
    password = _password(password_env)
    db = _db()
    try:
        account = set_password(db, email, password)
    except LookupError as err:
        raise _fail(str(err), 1) from None
    except ValueError as err:
        raise _fail(str(err), 2) from None
    finally:
        db.dispose()
    print(f"password set for {account.email}")
