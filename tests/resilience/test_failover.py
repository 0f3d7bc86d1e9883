"""Failover keeps every acknowledged write: two PostgreSQL nodes under Patroni (etcd as the
consensus store, synchronous replication) behind HAProxy, the service (``minqing serve`` on
127.0.0.1) writing through HAProxy's primary port while the leader is killed (bench/failover.py).

By default one failover (``kill -9`` of the leader's postmaster): about a minute in all, most of
it the cluster's start and the migrations; ``MINQING_SLOW=1`` runs four, the whole leader node killed every other time.
Figures are printed (``pytest -s``) for the record. Skipped where etcd, HAProxy or Patroni
cannot be had (``make test`` installs them as root: etcd-server and haproxy from Debian, patroni
with the dev extra).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator

import pytest

from bench import failover, resilience

SLOW = bool(os.environ.get("MINQING_SLOW"))
FAILOVERS = 4 if SLOW else 1

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900 if SLOW else 240)]


@pytest.fixture(scope="module")
def ha() -> Iterator[tuple[failover.Cluster, resilience.Stack]]:
    missing = failover.missing_tools()
    if missing:
        pytest.skip("the failover test needs " + ", ".join(missing) + " (make test installs them as root)")
    with failover.cluster(fsync=False) as cluster, failover.service(cluster) as stack:
        yield cluster, stack


def test_a_killed_leader_is_replaced_and_no_acknowledged_write_is_lost_or_doubled(ha):
    cluster, stack = ha
    first_leader = cluster.leader()
    figures = asyncio.run(
        failover.failover_under_load(cluster, stack, clients=6 if SLOW else 4, failovers=FAILOVERS, settle=3.0)
    )
    print("\n" + json.dumps(figures, ensure_ascii=False))
    rounds = figures["failovers"]
    assert [r["fault"] for r in rounds] == [failover.FAULTS[i % 2] for i in range(FAILOVERS)]
    assert rounds[0]["old_leader"] == first_leader.name
    for r in rounds:  # the standby took over every time
        assert r["new_leader"] not in (None, r["old_leader"]), r
        assert r["first_write_after_s"] is not None, r  # writes resumed after each kill
    assert figures["timeline"] == 1 + FAILOVERS  # each promotion started a new timeline
    assert figures["acknowledged"] > rounds[-1]["acknowledged_before"] > 0  # writes before and after
    assert figures["lost"] == [] and figures["duplicated"] == []
    assert figures["not_acknowledged"] == []  # every client got through in the end
    assert figures["bad_5xx"] == 0, figures["bad_5xx_samples"]  # the outage answered 503, never 500
    assert figures["server_errors"] == {}
    # The postmaster's crash is seen within a loop; a lost node after the leader key's ttl.
    limit = failover.TTL + 15
    assert figures["first_write_after_s"] < limit, rounds
