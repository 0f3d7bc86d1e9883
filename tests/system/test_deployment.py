"""The production shape, run: ``minqing migrate``, ``serve`` and ``worker`` as separate processes with
the environment the image and docker-compose.yml give them (read from those files, pointed at the
test's PostgreSQL and a temporary directory), each answering its healthcheck.

Docker is not needed: the commands and variables are taken from the Dockerfile and the compose
file, so a change there that breaks a process (a variable it cannot start with, a missing
directory, a healthcheck that cannot pass) fails here. The compose file is also validated offline
with ``docker-compose config`` when that tool is installed."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 120  # an upper bound on a loaded machine; the processes are normally up in seconds
SECRETS = {
    "MINQING_JWT_SECRET": "smoke-test-secret-" + "x" * 32,
    "MINQING_DATA_KEY": "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U=",
    "MINQING_BLIND_INDEX_KEY": "YmxpbmRibGluZGJsaW5kYmxpbmRibGluZGJsaW5kYmw=",
    "POSTGRES_PASSWORD": "unused",
}


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _final_stage() -> list[str]:
    """The Dockerfile's instructions after its last FROM, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    last_from = max(i for i, line in enumerate(lines) if line.upper().startswith("FROM "))
    return lines[last_from + 1 :]


def _image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for line in _final_stage():
        if line.upper().startswith("ENV "):
            for pair in line[4:].split():
                key, _, value = pair.partition("=")
                env[key] = value
    env.pop("PATH", None)  # the image's virtualenv; here the test's interpreter runs the commands
    return env


def _image_cmd() -> list[str]:
    (cmd,) = [line for line in _final_stage() if line.upper().startswith("CMD ")]
    return json.loads(cmd[4:])


def _substitute(value: str) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?message}``, with the test's secrets."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if name in SECRETS:
            return SECRETS[name]
        if op == ":-":
            return arg
        raise AssertionError(f"docker-compose.yml needs {name}, which the test does not provide")

    return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", one, str(value))


def _service(name: str) -> dict[str, Any]:
    return _compose()["services"][name]


def _service_env(name: str, *, database_url: str, workdir: Path) -> dict[str, str]:
    """What the container of service ``name`` runs with: image ENV, then the service's
    environment, with the database and the container's paths moved to the test's."""
    env = _image_env()
    env.update({k: _substitute(v) for k, v in (_service(name).get("environment") or {}).items()})
    env["DATABASE_URL"] = database_url
    for key, value in list(env.items()):
        if value.startswith("/srv/minqing/"):
            env[key] = str(workdir / value.removeprefix("/srv/minqing/"))
        elif value.startswith("/tmp/"):  # each container has a /tmp of its own
            env[key] = str(workdir / f"tmp-{name}" / value.removeprefix("/tmp/"))
    if "MINQING_WORKERS" in env:
        env["MINQING_WORKERS"] = "2"  # several processes (shared metrics), but not 4 on a test machine
    base = {k: v for k, v in os.environ.items() if not k.startswith("MINQING_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    base.pop("DATABASE_URL", None)
    base["PYTHONPATH"] = str(ROOT)
    return {**base, **env}


def _argv(command: list[str]) -> list[str]:
    """``minqing …`` as the test's interpreter runs it, from this checkout."""
    assert command[0] == "minqing", command
    return [sys.executable, "-m", "app.cli", *command[1:]]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, dict[str, Any] | str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            body = r.read().decode()
            return r.status, json.loads(body) if r.headers.get_content_type().endswith("json") else body
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _wait(what: str, check: Any, proc: subprocess.Popen[str]) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    last: Any = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{what}: the process exited with {proc.returncode}:\n{_output(proc)}")
        try:
            last = check()
            if last:
                return last
        except OSError as exc:  # not listening yet
            last = exc
        time.sleep(0.3)
    raise AssertionError(f"{what}: not healthy within {WAIT_SECONDS} s (last: {last})")


def _output(proc: subprocess.Popen[str]) -> str:
    if proc.poll() is None:
        return ""
    out, _ = proc.communicate(timeout=10)
    return out[-4000:]


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in started:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _start(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )


def test_migrate_serve_and_worker_come_up_with_the_image_environment(empty_db_url, tmp_path, processes):
    workdir = tmp_path / "srv"  # the image's WORKDIR: var/ (heartbeat, attachments) lives below it
    workdir.mkdir()

    # 1. The one-shot migrate service.
    migrate = _service("migrate")
    env = _service_env("migrate", database_url=empty_db_url, workdir=workdir)
    result = subprocess.run(
        _argv(migrate["command"]), env=env, cwd=workdir, capture_output=True, text=True, timeout=WAIT_SECONDS
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert migrate.get("healthcheck", {}).get("disable") is True  # a one-shot job has no healthcheck

    # 2. The API: the image's CMD on a free loopback port instead of 0.0.0.0:8000.
    assert _service("api")["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    cmd = _image_cmd()
    port = _free_port()
    cmd[cmd.index("--host") + 1] = "127.0.0.1"
    cmd[cmd.index("--port") + 1] = str(port)
    api_env = _service_env("api", database_url=empty_db_url, workdir=workdir)
    api = _start(_argv(cmd), api_env, workdir)
    processes.append(api)

    # 3. The worker, with its own healthcheck.
    worker_service = _service("worker")
    assert worker_service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    worker_env = _service_env("worker", database_url=empty_db_url, workdir=workdir)
    worker = _start(_argv(worker_service["command"]), worker_env, workdir)
    processes.append(worker)

    # The API answers the image's healthcheck (/health) and is ready (database at head).
    base = f"http://127.0.0.1:{port}"
    _wait("api /health", lambda: _get(base + "/health")[0] == 200, api)
    status, body = _wait("api /ready", lambda: (r := _get(base + "/ready"))[0] == 200 and r, api)
    assert body["status"] == "ready", body
    status, metrics = _get(base + "/metrics")  # several processes: the multi-process metrics directory
    assert status == 200 and "minqing_http_requests_total" in metrics
    assert Path(api_env["PROMETHEUS_MULTIPROC_DIR"]).is_dir()

    # The worker answers compose's healthcheck command.
    check = worker_service["healthcheck"]["test"]
    assert check[0] == "CMD", check

    def worker_healthy() -> bool:
        run = subprocess.run(_argv(check[1:]), env=worker_env, cwd=workdir, capture_output=True, timeout=60)
        return run.returncode == 0

    _wait("worker --check", worker_healthy, worker)

    # Both stop cleanly on SIGTERM (what `docker stop` sends); a stopped worker is no longer healthy.
    for proc in (worker, api):
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, _output(proc)
    assert not worker_healthy()


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose (Debian package) not installed")
def test_docker_compose_config_is_valid():
    env = {**os.environ, **SECRETS}
    result = subprocess.run(
        ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert services["db"]["healthcheck"]["test"]
    for name in ("api", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"


def test_ci_runs_the_readme_test_command():
    run = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert "make test" in run
    readme = (ROOT / "README.md").read_text()
    lines = [line.strip() for line in readme.splitlines()]
    assert "make run" in lines and "make test" in lines
