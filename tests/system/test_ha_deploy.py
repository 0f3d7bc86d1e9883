"""deploy/ha: the highly available example (etcd, two Patroni nodes, HAProxy) says what the failover
test measured: synchronous replication, HAProxy sending the service to Patroni's leader only, and
the service writing through HAProxy. Checked offline: HAProxy's own ``-c``, ``docker-compose config``
(each skipped where the tool is not installed; ``make test`` installs both as root)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

HA = Path(__file__).resolve().parents[2] / "deploy" / "ha"
HAPROXY = shutil.which("haproxy") or next((p for p in ("/usr/sbin/haproxy",) if os.path.exists(p)), None)
SECRETS = {"MINQING_JWT_SECRET": "x" * 48, "MINQING_DATA_KEY": "a" * 44, "MINQING_BLIND_INDEX_KEY": "b" * 44}


def _listen(section: str) -> list[str]:
    lines = (HA / "haproxy.cfg").read_text().splitlines()
    start = lines.index(f"listen {section}")
    body = []
    for line in lines[start + 1 :]:
        if line and not line.startswith(" "):
            break
        body.append(line.strip())
    return body


def test_patroni_replicates_synchronously_and_hands_over_a_crashed_primary():
    config = yaml.safe_load((HA / "patroni.yml").read_text())
    dcs = config["bootstrap"]["dcs"]
    assert dcs["synchronous_mode"] is True  # an acknowledged write survives the failover
    assert dcs["primary_start_timeout"] == 0
    assert dcs["loop_wait"] + 2 * dcs["retry_timeout"] <= dcs["ttl"]  # Patroni's own rule
    assert "etcd3" in config  # etcd's v3 API (etcd ≥ 3.4 disables v2 by default)
    assert dcs["postgresql"]["use_pg_rewind"] and dcs["postgresql"]["parameters"]["wal_log_hints"] == "on"


def test_haproxy_sends_the_primary_port_to_patronis_leader_only():
    primary = _listen("primary")
    assert "bind *:5000" in primary
    assert "http-check send meth GET uri /primary" in primary
    servers = [line for line in primary if line.startswith("server ")]
    assert len(servers) == 2 and all("check port 8008" in s for s in servers)
    assert any("on-marked-down shutdown-sessions" in line for line in primary)
    assert "http-check send meth GET uri /replica?lag=10MB" in _listen("replicas")


@pytest.mark.skipif(HAPROXY is None, reason="haproxy (Debian package) not installed")
def test_haproxy_accepts_the_configuration():
    result = subprocess.run(
        [str(HAPROXY), "-c", "-f", str(HA / "haproxy.cfg")], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert "Configuration file is valid" in result.stdout + result.stderr


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose (Debian package) not installed")
def test_the_compose_file_is_valid_and_the_service_writes_through_haproxy():
    result = subprocess.run(
        ["docker-compose", "-f", str(HA / "docker-compose.yml"), "--profile", "pgbouncer", "config"],
        capture_output=True,
        text=True,
        env={**os.environ, **SECRETS},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert {"etcd", "pg1", "pg2", "haproxy", "pgbouncer", "migrate", "api", "worker"} <= set(services)
    for name in ("migrate", "api", "worker"):
        url = urlsplit(services[name]["environment"]["DATABASE_URL"])
        assert (url.hostname, url.port) == ("haproxy", 5000), name
    for name in ("pg1", "pg2"):
        env = services[name]["environment"]
        assert env["PATRONI_NAME"] == name and env["PATRONI_POSTGRESQL_CONNECT_ADDRESS"] == f"{name}:5432"
    assert set(services["haproxy"]["depends_on"]) == {"pg1", "pg2"}
