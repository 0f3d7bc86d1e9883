from collections.abc import Iterable, Sequence

import pytest

from app.errors import ValidationFailed
from app.integrations.webhooks.urlcheck import check_target_url, host_allowed

PUBLIC_V4 = "93.184.216.34"


class FakeResolver:
    """Answers from a fixed table, so no test touches the network."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.asked: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> Iterable[str]:
        self.asked.append((host, port))
        if host not in self.table:
            raise OSError("Name or service not known")
        return self.table[host]


DNS = {
    "hooks.example.com": [PUBLIC_V4, "2606:2800:220:1:248:1893:25c8:1946"],
    "api.jiedao.example.cn": [PUBLIC_V4],
    "intranet.example.com": ["10.1.2.3"],
    "sneaky.example.com": [PUBLIC_V4, "127.0.0.1"],
    "metadata.example.com": ["169.254.169.254"],
    "localhost": ["127.0.0.1", "::1"],
    "街道.example.cn".encode("idna").decode(): [PUBLIC_V4],
}


async def check(
    url: str,
    *,
    allowlist: Sequence[str] = (),
    allow_private: bool = False,
    allow_loopback: bool = False,
) -> None:
    await check_target_url(
        url,
        allowlist=allowlist,
        allow_private=allow_private,
        allow_loopback=allow_loopback,
        resolver=FakeResolver(DNS),
    )


async def refusal(url: str, **kw: object) -> str:
    with pytest.raises(ValidationFailed) as caught:
        await check(url, **kw)  # type: ignore[arg-type]
    err = caught.value
    assert err.code == "webhook_url_refused"
    assert err.status == 422
    assert err.errors[0]["field"] == "url"
    return err.errors[0]["message"]


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/minqing",
        "http://hooks.example.com:8080/minqing?x=1",
        f"https://{PUBLIC_V4}/hook",
        "https://[2606:2800:220:1:248:1893:25c8:1946]/hook",
        "https://HOOKS.Example.COM./hook",
        "https://街道.example.cn/hook",
    ],
)
async def test_public_targets_are_accepted(url: str) -> None:
    await check(url)


async def test_resolver_gets_the_host_and_default_port() -> None:
    resolver = FakeResolver(DNS)
    await check_target_url(
        "https://hooks.example.com/x",
        allowlist=(),
        allow_private=False,
        allow_loopback=False,
        resolver=resolver,
    )
    assert resolver.asked == [("hooks.example.com", 443)]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/hook", "loopback"),
        ("http://127.9.9.9:8000/hook", "loopback"),
        ("http://[::1]/hook", "loopback"),
        ("http://[::ffff:127.0.0.1]/hook", "loopback"),
        ("http://[::ffff:7f00:1]/hook", "loopback"),
        ("http://localhost/hook", "loopback"),
        ("http://10.0.0.8/hook", "private"),
        ("http://172.16.5.4/hook", "private"),
        ("http://192.168.1.1/hook", "private"),
        ("http://[::ffff:10.0.0.1]/hook", "private"),
        ("http://[fd00::1]/hook", "private"),
        ("http://100.64.1.2/hook", "CGNAT"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[fe80::1%25eth0]/hook", "link-local"),
        ("http://[::ffff:169.254.169.254]/hook", "link-local"),
        ("http://0.0.0.0/hook", "unspecified"),
        ("http://[::]/hook", "unspecified"),
        ("http://224.0.0.1/hook", "multicast"),
        ("http://[ff02::1]/hook", "multicast"),
        ("http://240.0.0.1/hook", "reserved"),
        ("http://[2002:7f00:1::]/hook", "loopback"),
        ("http://intranet.example.com/hook", "10.1.2.3"),
        ("http://sneaky.example.com/hook", "127.0.0.1"),
        ("http://metadata.example.com/hook", "link-local"),
    ],
)
async def test_non_public_addresses_are_refused(url: str, reason: str) -> None:
    assert reason in await refusal(url)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://hooks.example.com/x", "http"),
        ("file:///etc/passwd", "http"),
        ("gopher://hooks.example.com/", "http"),
        ("hooks.example.com/x", "http"),
        ("https://user:pw@hooks.example.com/x", "credentials"),
        ("https://token@hooks.example.com/x", "credentials"),
        ("https://hooks.example.com@127.0.0.1/x", "credentials"),
        ("https:///x", "no host"),
        ("https://hooks.example.com:99999/x", "not valid"),
        ("https://[::1/x", "not valid"),
        ("https://hooks.example.com\\@127.0.0.1/", "backslash"),
        ("https://hooks.example.com /x", "whitespace"),
        ("http://127.1/hook", "standard form"),
        ("http://2130706433/hook", "standard form"),
        ("http://0x7f.0.0.1/hook", "standard form"),
        ("http://bad_-.example.com/hook", "not valid"),
        ("https://nowhere.example.com/x", "could not be resolved"),
    ],
)
async def test_malformed_or_unsupported_urls_are_refused(url: str, reason: str) -> None:
    assert reason in await refusal(url)


async def test_loopback_allowed_when_flagged() -> None:
    await check("http://127.0.0.1:8000/hook", allow_loopback=True)
    await check("http://[::1]:8000/hook", allow_loopback=True)
    await check("http://localhost:8000/hook", allow_loopback=True)
    assert "private" in await refusal("http://10.0.0.1/hook", allow_loopback=True)


async def test_private_allowed_when_flagged_but_not_metadata() -> None:
    await check("http://intranet.example.com/hook", allow_private=True)
    await check("http://100.64.1.2/hook", allow_private=True)
    await check("http://[fd00::1]/hook", allow_private=True)
    assert "link-local" in await refusal("http://169.254.169.254/", allow_private=True)
    assert "loopback" in await refusal("http://127.0.0.1/", allow_private=True)


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("hooks.example.com", True),
        ("HOOKS.example.com.", True),
        ("a.b.gov.example.cn", True),
        ("gov.example.cn", False),
        ("evilgov.example.cn", False),
        ("hooks.example.com.evil.org", False),
        ("other.example.com", False),
        ("街道.example.cn", False),
        ("街道.jiedao.cn", True),
    ],
)
def test_allowlist_patterns(host: str, allowed: bool) -> None:
    patterns = ["hooks.example.com", "*.gov.example.cn", "*.jiedao.cn"]
    assert host_allowed(host, patterns) is allowed


async def test_allowlist_is_enforced_before_resolving() -> None:
    await check("https://api.jiedao.example.cn/x", allowlist=["*.example.cn"])
    assert "allowlist" in await refusal("https://hooks.example.com/x", allowlist=["*.example.cn"])
    assert "allowlist" in await refusal("https://nowhere.example.com/x", allowlist=["hooks.example.com"])


async def test_allowlisted_host_must_still_resolve_publicly() -> None:
    assert "10.1.2.3" in await refusal("https://intranet.example.com/x", allowlist=["*.example.com"])


async def test_ip_literals_are_not_resolved() -> None:
    resolver = FakeResolver({})
    await check_target_url(
        f"https://{PUBLIC_V4}/x", allowlist=(), allow_private=False, allow_loopback=False, resolver=resolver
    )
    assert resolver.asked == []


async def test_resolver_answers_must_be_addresses() -> None:
    async def nothing(host: str, port: int) -> list[str]:
        return []

    async def garbage(host: str, port: int) -> list[str]:
        return ["not-an-ip"]

    for resolver in (nothing, garbage):
        with pytest.raises(ValidationFailed):
            await check_target_url(
                "https://hooks.example.com/",
                allowlist=(),
                allow_private=False,
                allow_loopback=False,
                resolver=resolver,
            )
