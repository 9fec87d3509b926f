"""Start-up without Alembic: a database already at every head revision is not migrated again."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text

import storage.db
from storage.db import Database, _head_revisions

ROOT = Path(__file__).resolve().parents[1]


def test_heads_read_from_the_files_are_alembics_heads() -> None:
    config = Config()
    config.set_main_option("script_location", str(storage.db._MIGRATIONS))
    assert _head_revisions() == set(ScriptDirectory.from_config(config).get_heads())


def test_a_database_at_heads_is_opened_without_importing_alembic(database_url: str) -> None:
    db = Database(database_url)
    assert not db._at_heads()  # a fresh schema: nothing applied yet
    db.migrate()
    assert db._at_heads()
    code = (
        "import sys; from storage.db import Database; db = Database(sys.argv[1]); db.migrate(); "
        "print('alembic' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    answer = subprocess.run([sys.executable, "-c", code, database_url], capture_output=True, text=True, env=env, check=True)
    assert answer.stdout.strip() == "False", answer.stderr
    # One head missing from alembic_version: not at heads, so migrate() would run Alembic.
    with db.engine.begin() as connection:
        connection.execute(text("DELETE FROM alembic_version WHERE version_num = :head"), {"head": max(_head_revisions())})
    assert not db._at_heads()
    db.dispose()


def test_assignments_read_from_lines_agree_with_the_syntax_tree() -> None:
    """The migration files' revisions are read from their lines; a form that is not one literal
    on one line (a merge's tuple over several lines) is read from the module's syntax tree."""
    from storage.db import _assignments

    for path in (storage.db._MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert _assignments(source) == _from_tree(source), path.name
    merge = '"""A merge.\n\nrevision get ``x``\n"""\nrevision = "0030_merge"\ndown_revision = (\n    "0028_a",\n    "0029_b",\n)\n'
    assert _assignments(merge) == {"revision": "0030_merge", "down_revision": ("0028_a", "0029_b")}
    assert _assignments('revision = "0031"  # a comment\ndown_revision = None\n') == {"revision": "0031", "down_revision": None}


def _from_tree(source: str) -> dict[str, object]:
    import ast

    values: dict[str, object] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id in ("revision", "down_revision"):
                values[node.targets[0].id] = ast.literal_eval(node.value)
    return values
