"""Helpers for the chart tests: find the real `helm` binary, run it, render the chart."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "layerwatch"

ALL_FEATURES = [
    "metrics.prometheusRule.enabled=true",
    "metrics.serviceMonitor.enabled=true",
    "metrics.dashboard.enabled=true",
    "networkPolicy.enabled=true",
    "defaultPolicy.enabled=true",
    "webhook.tls.mode=certManager",
    "operator.vulndb.repository=registry.example.com/layerwatch/vulndb:3",
    "operator.vulndb.pullSecret=vulndb-pull",
    "operator.vulndb.builder.enabled=true",
    "operator.vulndb.builder.pushSecret=vulndb-push",
    "operator.push.enabled=true",
    "operator.push.tls.certManager=true",
]


def find_tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(ROOT / ".tools" / "bin"))
    assert found, f"{name} not found on PATH or in .tools/bin: .ci/run installs it (see README)"
    return found



def run_helm(helm: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HELM_CACHE_HOME="/tmp/lw-helm/cache", HELM_CONFIG_HOME="/tmp/lw-helm/config",
               HELM_DATA_HOME="/tmp/lw-helm/data")
    result = subprocess.run([helm, *args], capture_output=True, text=True, env=env, timeout=120)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def render(helm: str, *sets: str, namespace: str = "layerwatch") -> list[dict]:
    args = ["template", "lw", str(CHART), "-n", namespace]
    for s in sets:
        args += ["--set", s]
    out = run_helm(helm, *args).stdout
    return [d for d in yaml.safe_load_all(out) if d]
