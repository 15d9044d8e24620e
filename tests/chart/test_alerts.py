"""Alert rules and dashboard: checked and unit-tested by the real promtool, named as the code exports."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import yaml
from layerwatch_api import metrics

from tests.chart.helm_support import CHART, ROOT, find_tool

ALERTS = CHART / "files" / "alerts.yaml"
DASHBOARD = CHART / "files" / "dashboard.json"
ALERT_TESTS = Path(__file__).parent / "alerts_test.yaml"
# Series that are not layerwatch's own (Prometheus' scrape health, PromQL functions' results).
FOREIGN = {"up"}
KNOWN = {v for k, v in vars(metrics).items() if k.isupper()}


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([find_tool("promtool"), *args], capture_output=True, text=True, timeout=120)


def _metric_names(expr: str) -> set[str]:
    names = set(re.findall(r"\b(layerwatch_[a-z_]+|up)\b", expr))
    # histogram series: layerwatch_x_seconds_bucket -> layerwatch_x_seconds
    return {re.sub(r"_(bucket|sum|count)$", "", n) for n in names}


def test_promtool_check_rules() -> None:
    result = _promtool("check", "rules", str(ALERTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 9 rules found" in result.stdout


def test_promtool_unit_tests_fire_and_silence_every_alert() -> None:
    result = _promtool("test", "rules", str(ALERT_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    tested = yaml.safe_load(ALERT_TESTS.read_text())
    fired = {a["alertname"] for t in tested["tests"] for a in t["alert_rule_test"] if a["exp_alerts"]}
    silent = {a["alertname"] for t in tested["tests"] for a in t["alert_rule_test"] if not a["exp_alerts"]}
    rules = {r["alert"] for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]}
    assert fired == rules and silent == rules


def test_alerts_have_summary_description_and_runbook() -> None:
    runbook = (ROOT / "docs" / "runbook.md").read_text()
    for group in yaml.safe_load(ALERTS.read_text())["groups"]:
        for rule in group["rules"]:
            ann = rule["annotations"]
            assert ann["summary"] and ann["description"], rule["alert"]
            anchor = ann["runbook_url"].rsplit("#", 1)[1]
            assert f"## {rule['alert']}" in runbook and anchor == rule["alert"].lower()


def test_rules_and_dashboard_use_metric_names_the_code_exports() -> None:
    used: set[str] = set()
    for group in yaml.safe_load(ALERTS.read_text())["groups"]:
        for rule in group["rules"]:
            used |= _metric_names(rule["expr"])
    for panel in json.loads(DASHBOARD.read_text())["panels"]:
        for target in panel["targets"]:
            used |= _metric_names(target["expr"])
    unknown = used - KNOWN - FOREIGN
    assert not unknown, f"rules/dashboard use metrics that layerwatch_api.metrics does not define: {unknown}"
    assert KNOWN <= used, f"metrics exported but neither alerted on nor charted: {KNOWN - used}"
