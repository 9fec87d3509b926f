"""deploy/: the Prometheus alert rules and the systemd unit an operator installs."""

from __future__ import annotations

import re
from pathlib import Path

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
