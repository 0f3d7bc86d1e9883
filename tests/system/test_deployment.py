"""The production shape: docker-compose.yml validates (offline) and describes what the docs promise."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose (Debian package) not installed")
def test_docker_compose_config_is_valid():
    env = {
        **os.environ,
        "MINQING_JWT_SECRET": "x" * 40,
        "MINQING_DATA_KEY": "a2V5",
        "MINQING_BLIND_INDEX_KEY": "a2V5",
    }
    result = subprocess.run(
        ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "healthcheck" in result.stdout and "service_healthy" in result.stdout


def test_image_runs_migrations_then_several_workers():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "minqing migrate && exec minqing serve" in dockerfile
    assert "--workers ${MINQING_WORKERS:-4}" in dockerfile
    compose = (ROOT / "docker-compose.yml").read_text()
    assert "pg_isready" in compose and "condition: service_healthy" in compose


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    lines = [line.strip() for line in readme.splitlines()]
    assert "make run" in lines and "make test" in lines
