"""``cacwatch users``: accounts made and changed on the command line are the ones the browser
signs in with; a password never comes from an argument and never shows in the output."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from bot.web import users as accounts
from bot.app.cli import app
from storage.db import Database

runner = CliRunner()
PASSWORD = "a long enough password"


def _config(tmp_path: Path, database_url: str) -> list[str]:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"database": {"url": database_url}}), encoding="utf-8")
    return ["--config", str(path)]


def test_users_add_list_disable_set_password(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config(tmp_path, database_url)
    monkeypatch.setenv("CW_PASSWORD", PASSWORD)
    added = runner.invoke(app, [*config, "users", "add", "Op@Example.org", "--role", "operator", "--name", "Ops", "--password-env", "CW_PASSWORD"])
    assert added.exit_code == 0, added.output
    assert "added op@example.org (operator)" in added.stdout
    # From stdin (a script), the first line is the password.
    piped = runner.invoke(app, [*config, "users", "add", "ada@example.org"], input="another good password\n")
    assert piped.exit_code == 0, piped.output
    listed = runner.invoke(app, [*config, "users", "list"])
    assert listed.exit_code == 0 and "op@example.org" in listed.stdout and "operator" in listed.stdout and "member" in listed.stdout
    assert PASSWORD not in added.output + listed.output

    db = Database(database_url)
    try:
        op = accounts.authenticate(db, "op@example.org", PASSWORD)
        assert op is not None and op.role == "operator" and op.name == "Ops"
        assert accounts.authenticate(db, "ada@example.org", "another good password") is not None

        disabled = runner.invoke(app, [*config, "users", "disable", "ada@example.org"])
        assert disabled.exit_code == 0 and "disabled ada@example.org" in disabled.stdout
        assert accounts.authenticate(db, "ada@example.org", "another good password") is None
        enabled = runner.invoke(app, [*config, "users", "disable", "ada@example.org", "--enable"])
        assert enabled.exit_code == 0
        session = accounts.start_session(db, op.id, lifetime=3600)

        monkeypatch.setenv("CW_PASSWORD", "the new password!")
        changed = runner.invoke(app, [*config, "users", "set-password", "OP@example.org", "--password-env", "CW_PASSWORD"])
        assert changed.exit_code == 0, changed.output
        assert accounts.authenticate(db, "op@example.org", PASSWORD) is None
        assert accounts.authenticate(db, "op@example.org", "the new password!") is not None
        assert accounts.session_identity(db, session, idle=3600) is None  # a new password ends the sessions
    finally:
        db.dispose()


def test_users_refuses_bad_input_in_one_line(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config(tmp_path, database_url)
    monkeypatch.setenv("CW_PASSWORD", PASSWORD)
    # No --password option: a password on the command line would sit in the shell history.
    as_argument = runner.invoke(app, [*config, "users", "add", "a@example.org", "--password", PASSWORD])
    assert as_argument.exit_code == 2
    cases = [
        (["users", "add", "not-an-email", "--password-env", "CW_PASSWORD"], "email: not an email address"),
        (["users", "add", "a@example.org", "--role", "admin", "--password-env", "CW_PASSWORD"], "role: 'admin' is not one of"),
        (["users", "add", "a@example.org", "--password-env", "CW_UNSET"], "CW_UNSET is not set"),
        (["users", "disable", "nobody@example.org"], "no account for nobody@example.org"),
    ]
    for args, message in cases:
        result = runner.invoke(app, [*config, *args])
        assert result.exit_code in (1, 2), args
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    short = runner.invoke(app, [*config, "users", "add", "a@example.org"], input="short\n")
    assert short.exit_code == 2 and "at least 10 characters" in short.stderr
    assert runner.invoke(app, [*config, "users", "add", "a@example.org", "--password-env", "CW_PASSWORD"]).exit_code == 0
    again = runner.invoke(app, [*config, "users", "add", "A@example.org", "--password-env", "CW_PASSWORD"])
    assert again.exit_code == 2 and "already exists" in again.stderr
