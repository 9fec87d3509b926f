"""deploy/: the Prometheus alert rules and the systemd unit an operator installs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot.app.metrics import Metrics

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
README = Path(__file__).resolve().parents[1] / "README.md"


def _exposed_metric_names() -> set[str]:
    text = Metrics().render().decode()
    return {m.group(1) for m in re.finditer(r"^# TYPE (\w+) ", text, re.M)}


def test_alert_rules_are_well_formed_and_use_only_metrics_cacwatch_exposes() -> None:
    rules = yaml.safe_load((DEPLOY / "prometheus-alerts.yml").read_text(encoding="utf-8"))
    exposed = _exposed_metric_names()
    names = []
    for group in rules["groups"]:
        for rule in group["rules"]:
            names.append(rule["alert"])
            assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
            assert rule["labels"]["severity"] in ("warning", "critical")
            assert rule["annotations"]["summary"] and rule["annotations"]["description"]
            assert re.fullmatch(r"\d+[smh]", rule["for"])
            # Every series the rule reads is one cacwatch serves (a renamed metric breaks this test).
            for metric in re.findall(r"\bcacwatch_\w+", rule["expr"]):
                assert metric in exposed, (rule["alert"], metric)
            assert rule["expr"].count("(") == rule["expr"].count(")")
    assert len(names) == len(set(names)) >= 6


def test_systemd_recipe_lets_the_service_user_read_its_config() -> None:
    readme = README.read_text(encoding="utf-8")
    recipe = readme.split("## systemd", 1)[1].split("\n## ", 1)[0]
    # The unit runs as cacwatch: /etc/cacwatch and config.yaml must be readable by its group.
    assert "install -d -m 0750 -o root -g cacwatch /etc/cacwatch" in recipe
    assert "install -m 0640 -o root -g cacwatch config.yaml /etc/cacwatch/" in recipe
    # The secrets are read by systemd (as root) before dropping privileges: root-only is right.
    assert "install -m 0600 /dev/null /etc/cacwatch/cacwatch.env" in recipe
    unit = (DEPLOY / "cacwatch.service").read_text(encoding="utf-8")
    assert "User=cacwatch" in unit and "EnvironmentFile=-/etc/cacwatch/cacwatch.env" in unit
    assert "ExecReload=/bin/kill -HUP $MAINPID" in unit


def test_demo_workdir_leaves_a_config_later_commands_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from bot.app.cli import app

    runner = CliRunner()
    workdir = tmp_path / "demo"
    monkeypatch.delenv("CACWATCH_CONFIG", raising=False)
    demo = runner.invoke(app, ["demo", "--workdir", str(workdir)])
    assert (workdir / "config.yaml").exists(), demo.output
    assert f"Config written to {workdir / 'config.yaml'}" in demo.stdout.replace("\n", "")
    monkeypatch.chdir(workdir)  # later commands in that folder find the demo's store
    stats = runner.invoke(app, ["stats"])
    assert stats.exit_code == 0, stats.output
    assert "Generative-AI services" in stats.stdout
    exported = runner.invoke(app, ["export", "--format", "jsonl"])
    assert exported.exit_code == 0 and exported.stdout.count("\n") == (workdir / "filings.jsonl").read_text(encoding="utf-8").count("\n")
    # A second demo keeps the config it finds.
    (workdir / "config.yaml").write_text("database: {url: 'sqlite:///mine.db'}\n", encoding="utf-8")
    again = runner.invoke(app, ["demo", "--workdir", str(workdir)])
    assert "left as it is" in again.stdout.replace("\n", "") and "mine.db" in (workdir / "config.yaml").read_text(encoding="utf-8")


def test_postgres_half_policy() -> None:
    from conftest import postgres_policy

    assert postgres_policy({}, None) == "use"
    assert postgres_policy({}, "OperationalError: connection refused") == "skip"  # a laptop without PostgreSQL
    assert postgres_policy({"CI": "true"}, "OperationalError") == "fail"  # CI keeps requiring it
    assert postgres_policy({"CACWATCH_TEST_POSTGRES_URL": "postgresql://x@db/test"}, "OperationalError") == "fail"
