import base64
import hashlib
import hmac

import pytest

from app.errors import Unauthorized
from app.kit.signing import generate_secret, sign, signature_headers, verify

KEY = b"minqing-test-key-0123456789abcdef"
SECRET = "whsec_" + base64.b64encode(KEY).decode()
NOW = 1_790_000_000
BODY = '{"type":"issue.closed","data":{"title":"楼道灯不亮"}}'.encode()


def expected_signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def headers(**overrides: str) -> dict[str, str]:
    base = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(NOW),
        "webhook-signature": expected_signature(KEY, "msg_1", NOW, BODY),
    }
    base.update(overrides)
    return base


def assert_refused(code: str, hdrs: dict[str, str], body: bytes = BODY, **kw: object) -> None:
    with pytest.raises(Unauthorized) as caught:
        verify([SECRET], hdrs, body, now=NOW, **kw)
    assert caught.value.code == code
    assert caught.value.status == 401


def test_sign_matches_an_independent_hmac() -> None:
    assert sign(SECRET, "msg_1", NOW, BODY) == expected_signature(KEY, "msg_1", NOW, BODY)


def test_known_answer_from_the_standard_webhooks_reference() -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    signature = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_generated_secrets_are_distinct_and_usable() -> None:
    first, second = generate_secret(), generate_secret()
    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32
    sent = signature_headers(first, "msg_2", BODY, now=NOW)
    assert verify([first], sent, BODY, now=NOW) == "msg_2"


def test_signature_headers_round_trip() -> None:
    sent = signature_headers(SECRET, "msg_1", BODY, now=NOW)
    assert sent == headers()
    assert verify([SECRET], sent, BODY, now=NOW) == "msg_1"


def test_header_names_are_case_insensitive() -> None:
    mixed = {name.title(): value for name, value in headers().items()}
    assert verify([SECRET], mixed, BODY, now=NOW) == "msg_1"


def test_rotation_accepts_either_secret() -> None:
    new_secret = generate_secret()
    # Receiver holds both secrets; sender still uses the old one.
    assert verify([new_secret, SECRET], headers(), BODY, now=NOW) == "msg_1"
    # Sender signs with both while rotating; receiver already dropped the old one.
    both = signature_headers([SECRET, new_secret], "msg_1", BODY, now=NOW)
    assert len(both["webhook-signature"].split()) == 2
    assert verify([new_secret], both, BODY, now=NOW) == "msg_1"


def test_any_of_several_signatures_may_match() -> None:
    good = expected_signature(KEY, "msg_1", NOW, BODY)
    bogus = "v1," + base64.b64encode(b"x" * 32).decode()
    value = f"v1a,ignored {bogus} {good}"
    assert verify([SECRET], headers(**{"webhook-signature": value}), BODY, now=NOW) == "msg_1"


def test_non_v1_signatures_are_ignored() -> None:
    digest = expected_signature(KEY, "msg_1", NOW, BODY).removeprefix("v1,")
    assert_refused("signature_invalid", headers(**{"webhook-signature": f"v2,{digest}"}))


def test_tampered_body_is_refused() -> None:
    assert_refused("signature_invalid", headers(), body=BODY.replace("楼道".encode(), "电梯".encode()))


def test_other_message_id_is_refused() -> None:
    assert_refused("signature_invalid", headers(**{"webhook-id": "msg_2"}))


def test_unknown_secret_is_refused() -> None:
    with pytest.raises(Unauthorized) as caught:
        verify([generate_secret()], headers(), BODY, now=NOW)
    assert caught.value.code == "signature_invalid"


@pytest.mark.parametrize("offset", [-301, 301, -86_400, 86_400])
def test_timestamps_outside_the_tolerance_are_refused(offset: int) -> None:
    ts = NOW + offset
    signed = headers(**{"webhook-timestamp": str(ts), "webhook-signature": expected_signature(KEY, "msg_1", ts, BODY)})
    assert_refused("signature_timestamp_out_of_range", signed)


@pytest.mark.parametrize("offset", [-300, 0, 300])
def test_timestamps_within_the_tolerance_are_accepted(offset: int) -> None:
    ts = NOW + offset
    signed = signature_headers(SECRET, "msg_1", BODY, now=ts)
    assert verify([SECRET], signed, BODY, now=NOW) == "msg_1"


def test_tolerance_is_configurable() -> None:
    signed = signature_headers(SECRET, "msg_1", BODY, now=NOW - 60)
    assert_refused("signature_timestamp_out_of_range", signed, tolerance=30)


@pytest.mark.parametrize("value", ["soon", "1.79e9", "-1790000000", ""])
def test_malformed_timestamps_are_refused(value: str) -> None:
    code = "signature_missing" if value == "" else "signature_timestamp_out_of_range"
    assert_refused(code, headers(**{"webhook-timestamp": value}))


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_headers_are_refused(missing: str) -> None:
    partial = headers()
    del partial[missing]
    assert_refused("signature_missing", partial)


def test_malformed_secret_is_a_configuration_error() -> None:
    with pytest.raises(ValueError):
        sign("whsec_not base64!", "msg_1", NOW, BODY)
