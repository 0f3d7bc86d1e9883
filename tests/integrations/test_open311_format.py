import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.integrations.open311.format import (
    MAX_REQUESTS,
    Attribute,
    AttributeValue,
    Open311Error,
    PostedRequest,
    RequestToken,
    Service,
    ServiceDefinition,
    ServiceRequest,
    parse_list_filters,
    parse_post_form,
    parse_w3c_datetime,
    render_errors,
    render_post_response,
    render_service_definition,
    render_service_requests,
    render_services,
    render_tokens,
)

CST = timezone(timedelta(hours=8))
REQUESTED = datetime(2026, 11, 23, 9, 30, 15, 123456, tzinfo=CST)

SERVICES = [
    Service(
        service_code="lighting",
        service_name="楼道照明",
        description="楼道灯、路灯不亮或损坏",
        metadata=True,
        type="realtime",
        keywords=["路灯", "楼道灯"],
        group="市政设施",
    ),
    Service(service_code="noise", service_name="噪音扰民", type="batch"),
]

REQUEST = ServiceRequest(
    service_request_id="ZZ-20261123-000123",
    status="open",
    status_notes="已派单至网格员 & 物业",
    service_name="楼道照明",
    service_code="lighting",
    description="3号楼2单元楼道灯不亮 <已两周>",
    agency_responsible="朝阳街道办事处",
    requested_datetime=REQUESTED,
    updated_datetime=REQUESTED + timedelta(hours=2),
    address="幸福路12号3号楼",
    zipcode="100020",
    lat=39.9219,
    long=116.4432,
)


def xml_root(body: bytes, media_type: str) -> ET.Element:
    assert media_type.startswith("application/xml")
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(body)


def json_doc(body: bytes, media_type: str) -> object:
    assert media_type.startswith("application/json")
    assert b"\\u" not in body  # Chinese is written as UTF-8, not escaped
    return json.loads(body.decode("utf-8"))


def children(elem: ET.Element) -> dict[str, str | None]:
    return {child.tag: child.text for child in elem}


# --- services ----------------------------------------------------------------------------------


def test_services_json() -> None:
    doc = json_doc(*render_services(SERVICES, "json"))
    assert doc == [
        {
            "service_code": "lighting",
            "service_name": "楼道照明",
            "description": "楼道灯、路灯不亮或损坏",
            "metadata": True,
            "type": "realtime",
            "keywords": "路灯, 楼道灯",
            "group": "市政设施",
        },
        {
            "service_code": "noise",
            "service_name": "噪音扰民",
            "description": None,
            "metadata": False,
            "type": "batch",
            "keywords": None,
            "group": None,
        },
    ]


def test_services_xml_round_trips() -> None:
    root = xml_root(*render_services(SERVICES, "xml"))
    assert root.tag == "services"
    first, second = root.findall("service")
    assert [c.tag for c in first] == [
        "service_code", "service_name", "description", "metadata", "type", "keywords", "group",
    ]  # fmt: skip
    assert children(first) == {
        "service_code": "lighting",
        "service_name": "楼道照明",
        "description": "楼道灯、路灯不亮或损坏",
        "metadata": "true",
        "type": "realtime",
        "keywords": "路灯, 楼道灯",
        "group": "市政设施",
    }
    assert second.findtext("metadata") == "false"
    assert second.find("description") is not None and second.findtext("description") == ""


def test_empty_list_renders_an_empty_root() -> None:
    assert xml_root(*render_services([], "xml")).tag == "services"
    assert json_doc(*render_services([], "json")) == []


# --- service definition ------------------------------------------------------------------------

DEFINITION = ServiceDefinition(
    service_code="lighting",
    attributes=[
        Attribute(
            code="FLOOR",
            datatype="number",
            description="第几层？",
            order=2,
            datatype_description="楼层数字",
        ),
        Attribute(
            code="KIND",
            datatype="singlevaluelist",
            description="哪种灯？",
            order=1,
            required=True,
            values=[AttributeValue("corridor", "楼道灯"), AttributeValue(2, "路灯")],
        ),
    ],
)


def test_service_definition_json() -> None:
    doc = json_doc(*render_service_definition(DEFINITION, "json"))
    assert doc == {
        "service_code": "lighting",
        "attributes": [
            {
                "variable": True,
                "code": "KIND",
                "datatype": "singlevaluelist",
                "required": True,
                "datatype_description": None,
                "order": 1,
                "description": "哪种灯？",
                "values": [{"key": "corridor", "name": "楼道灯"}, {"key": 2, "name": "路灯"}],
            },
            {
                "variable": True,
                "code": "FLOOR",
                "datatype": "number",
                "required": False,
                "datatype_description": "楼层数字",
                "order": 2,
                "description": "第几层？",
                "values": [],
            },
        ],
    }


def test_service_definition_xml_round_trips() -> None:
    root = xml_root(*render_service_definition(DEFINITION, "xml"))
    assert root.tag == "service_definition"
    assert root.findtext("service_code") == "lighting"
    kind, floor = root.findall("attributes/attribute")
    assert [c.tag for c in kind] == [
        "variable", "code", "datatype", "required", "datatype_description", "order", "description", "values",
    ]  # fmt: skip
    assert kind.findtext("required") == "true" and kind.findtext("variable") == "true"
    assert kind.findtext("order") == "1" and kind.findtext("description") == "哪种灯？"
    values = [(v.findtext("key"), v.findtext("name")) for v in kind.findall("values/value")]
    assert values == [("corridor", "楼道灯"), ("2", "路灯")]
    assert floor.findtext("required") == "false"
    floor_values = floor.find("values")
    assert floor_values is not None and len(floor_values) == 0


# --- service requests --------------------------------------------------------------------------

REQUEST_FIELDS = [
    "service_request_id", "status", "status_notes", "service_name", "service_code", "description",
    "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
    "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url",
]  # fmt: skip


def test_service_requests_json() -> None:
    (doc,) = json_doc(*render_service_requests([REQUEST], "json"))  # type: ignore[misc]
    assert list(doc) == REQUEST_FIELDS
    assert doc["requested_datetime"] == "2026-11-23T09:30:15+08:00"
    assert doc["updated_datetime"] == "2026-11-23T11:30:15+08:00"
    assert doc["expected_datetime"] is None
    assert doc["lat"] == 39.9219 and doc["long"] == 116.4432
    assert doc["description"] == "3号楼2单元楼道灯不亮 <已两周>"


def test_service_requests_xml_round_trips() -> None:
    root = xml_root(*render_service_requests([REQUEST], "xml"))
    assert root.tag == "service_requests"
    (request,) = root.findall("request")
    assert [c.tag for c in request] == REQUEST_FIELDS
    values = children(request)
    assert values["service_request_id"] == "ZZ-20261123-000123"
    assert values["status_notes"] == "已派单至网格员 & 物业"
    assert values["description"] == "3号楼2单元楼道灯不亮 <已两周>"
    assert values["agency_responsible"] == "朝阳街道办事处"
    assert values["requested_datetime"] == "2026-11-23T09:30:15+08:00"
    assert datetime.fromisoformat(values["updated_datetime"] or "") == REQUEST.updated_datetime.replace(microsecond=0)
    assert float(values["lat"] or "") == 39.9219 and float(values["long"] or "") == 116.4432
    for empty in ("service_notice", "expected_datetime", "address_id", "media_url"):
        assert request.find(empty) is not None and values[empty] is None


def test_utc_datetimes_keep_their_offset() -> None:
    req = ServiceRequest(service_request_id="1", status="closed", requested_datetime=datetime(2026, 1, 2, tzinfo=UTC))
    (doc,) = json_doc(*render_service_requests([req], "json"))  # type: ignore[misc]
    assert doc["requested_datetime"] == "2026-01-02T00:00:00+00:00"


def test_naive_datetimes_are_rejected() -> None:
    req = ServiceRequest(service_request_id="1", status="open", requested_datetime=datetime(2026, 1, 2))
    with pytest.raises(ValueError):
        render_service_requests([req], "json")


def test_characters_xml_cannot_carry_are_dropped() -> None:
    req = ServiceRequest(service_request_id="1", status="open", description="灯\x00不亮\x1b")
    root = xml_root(*render_service_requests([req], "xml"))
    assert root.findtext("request/description") == "灯不亮"


def test_unknown_format_is_rejected() -> None:
    with pytest.raises(ValueError):
        render_services(SERVICES, "csv")  # type: ignore[arg-type]


# --- POST response and tokens ------------------------------------------------------------------


def test_post_response_with_id() -> None:
    posted = [PostedRequest(service_request_id="ZZ-20261123-000124", service_notice="将在24小时内响应")]
    assert json_doc(*render_post_response(posted, "json")) == [
        {"service_request_id": "ZZ-20261123-000124", "service_notice": "将在24小时内响应", "account_id": None}
    ]
    root = xml_root(*render_post_response(posted, "xml"))
    assert root.tag == "service_requests"
    (request,) = root.findall("request")
    assert children(request) == {
        "service_request_id": "ZZ-20261123-000124",
        "service_notice": "将在24小时内响应",
        "account_id": None,
    }


def test_post_response_with_token() -> None:
    posted = [PostedRequest(token="tok_123")]
    assert json_doc(*render_post_response(posted, "json")) == [
        {"token": "tok_123", "service_notice": None, "account_id": None}
    ]
    request = xml_root(*render_post_response(posted, "xml")).find("request")
    assert request is not None and [c.tag for c in request] == ["token", "service_notice", "account_id"]


def test_posted_request_needs_exactly_one_of_id_and_token() -> None:
    with pytest.raises(ValueError):
        PostedRequest()
    with pytest.raises(ValueError):
        PostedRequest(service_request_id="1", token="t")


def test_token_lookup() -> None:
    tokens = [RequestToken("tok_123", "ZZ-20261123-000124"), RequestToken("tok_456")]
    assert json_doc(*render_tokens(tokens, "json")) == [
        {"service_request_id": "ZZ-20261123-000124", "token": "tok_123"},
        {"service_request_id": None, "token": "tok_456"},
    ]
    root = xml_root(*render_tokens(tokens, "xml"))
    assert [children(r) for r in root.findall("request")] == [
        {"service_request_id": "ZZ-20261123-000124", "token": "tok_123"},
        {"service_request_id": None, "token": "tok_456"},
    ]


# --- errors ------------------------------------------------------------------------------------


def test_errors_json_and_xml() -> None:
    errors = [Open311Error(400, "service_code 未提供"), Open311Error(403, "Invalid api_key")]
    assert errors[0].status == 400
    assert json_doc(*render_errors(errors, "json")) == [
        {"code": 400, "description": "service_code 未提供"},
        {"code": 403, "description": "Invalid api_key"},
    ]
    root = xml_root(*render_errors(errors, "xml"))
    assert root.tag == "errors"
    assert [children(e) for e in root.findall("error")] == [
        {"code": "400", "description": "service_code 未提供"},
        {"code": "403", "description": "Invalid api_key"},
    ]


# --- POST form ---------------------------------------------------------------------------------


def test_post_form_with_all_fields_and_attributes() -> None:
    form: dict[str, str | list[str]] = {
        "api_key": "key_1",
        "jurisdiction_id": "chaoyang.example.cn",
        "service_code": "lighting",
        "lat": "39.9219",
        "long": "116.4432",
        "address_string": "幸福路12号",
        "email": "resident@example.cn",
        "device_id": "dev-1",
        "account_id": "acc-1",
        "first_name": "小明",
        "last_name": "王",
        "phone": "13800001234",
        "description": "  楼道灯不亮  ",
        "media_url": "https://img.example.cn/1.jpg",
        "attribute[KIND]": "corridor",
        "attribute[ROOMS][]": ["301", "302"],
        "attribute[SINGLE][]": "1",
        "attribute[EMPTY]": "",
        "attributes": "ignored",
    }
    parsed = parse_post_form(form)
    assert parsed.service_code == "lighting"
    assert (parsed.lat, parsed.long) == (39.9219, 116.4432)
    assert parsed.api_key == "key_1" and parsed.jurisdiction_id == "chaoyang.example.cn"
    assert parsed.first_name == "小明" and parsed.last_name == "王"
    assert parsed.description == "楼道灯不亮"
    assert parsed.media_url == "https://img.example.cn/1.jpg"
    assert parsed.attributes == {"KIND": "corridor", "ROOMS": ["301", "302"], "SINGLE": ["1"]}


def test_post_form_with_address_only() -> None:
    parsed = parse_post_form({"service_code": "noise", "address_string": "幸福路12号"})
    assert parsed.lat is None and parsed.address_string == "幸福路12号" and parsed.attributes == {}
    assert parse_post_form({"service_code": "noise", "address_id": "A-17"}).address_id == "A-17"


def test_post_form_scalar_and_list_forms_of_one_attribute_merge() -> None:
    parsed = parse_post_form(
        {"service_code": "noise", "address_id": "A", "attribute[T]": "a", "attribute[T][]": ["b", "c"]}
    )
    assert parsed.attributes == {"T": ["a", "b", "c"]}


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"address_string": "幸福路12号"}, "service_code"),
        ({"service_code": " ", "address_string": "幸福路12号"}, "service_code"),
        ({"service_code": "noise"}, "location"),
        ({"service_code": "noise", "description": "没有地址"}, "location"),
        ({"service_code": "noise", "lat": "39.9"}, "together"),
        ({"service_code": "noise", "long": "116.4"}, "together"),
        ({"service_code": "noise", "lat": "北纬39度", "long": "116.4"}, "number"),
        ({"service_code": "noise", "lat": "39.9", "long": "nan"}, "between"),
        ({"service_code": "noise", "lat": "90.5", "long": "116.4"}, "between -90 and 90"),
        ({"service_code": "noise", "lat": "39.9", "long": "-180.1"}, "between -180 and 180"),
        ({"service_code": "noise", "address_id": "A", "description": "吵" * 4001}, "4000"),
        ({"service_code": "noise", "address_id": "A", "media_url": "javascript:alert(1)"}, "media_url"),
    ],
)
def test_post_form_validation(form: dict[str, str], message: str) -> None:
    with pytest.raises(Open311Error) as caught:
        parse_post_form(form)
    assert caught.value.code == 400 and caught.value.status == 400
    assert message in caught.value.description


def test_post_form_description_at_the_limit_is_accepted() -> None:
    parsed = parse_post_form({"service_code": "noise", "address_id": "A", "description": "吵" * 4000})
    assert parsed.description is not None and len(parsed.description) == 4000


# --- GET requests filters ----------------------------------------------------------------------

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def test_list_defaults_to_the_last_90_days() -> None:
    filters = parse_list_filters({}, now=NOW)
    assert filters.end_date == NOW and filters.start_date == NOW - timedelta(days=90)
    assert filters.limit == MAX_REQUESTS == 1000
    assert filters.service_code == () and filters.status == () and filters.service_request_id == ()


def test_list_filters_parse_comma_lists_and_dates() -> None:
    filters = parse_list_filters(
        {
            "service_code": "lighting, noise,,lighting",
            "status": "OPEN,closed",
            "start_date": "2026-10-01T00:00:00+08:00",
            "end_date": "2026-11-01T12:00:00Z",
            "jurisdiction_id": "chaoyang.example.cn",
        },
        now=NOW,
    )
    assert filters.service_code == ("lighting", "noise")
    assert filters.status == ("open", "closed")
    assert filters.start_date == datetime(2026, 9, 30, 16, tzinfo=UTC)
    assert filters.end_date == datetime(2026, 11, 1, 12, tzinfo=UTC)
    assert filters.jurisdiction_id == "chaoyang.example.cn"


def test_list_filters_accept_repeated_parameters() -> None:
    filters = parse_list_filters({"service_code": ["lighting", "noise,water"]}, now=NOW)
    assert filters.service_code == ("lighting", "noise", "water")


def test_service_request_ids_override_everything_else() -> None:
    filters = parse_list_filters(
        {"service_request_id": "ZZ-1,ZZ-2", "status": "bogus", "start_date": "not a date"}, now=NOW
    )
    assert filters.service_request_id == ("ZZ-1", "ZZ-2")
    assert filters.start_date is None and filters.end_date is None and filters.status == ()


def test_one_date_gives_a_90_day_window() -> None:
    start = parse_list_filters({"start_date": "2026-01-01T00:00:00+08:00"}, now=NOW)
    assert start.end_date is not None and start.start_date is not None
    assert start.end_date - start.start_date == timedelta(days=90)
    end = parse_list_filters({"end_date": "2026-03-01T00:00:00+08:00"}, now=NOW)
    assert end.start_date == datetime(2025, 12, 1, tzinfo=CST)


def test_date_only_values_cover_whole_days_in_china_time() -> None:
    filters = parse_list_filters({"start_date": "2026-11-01", "end_date": "2026-11-23"}, now=NOW)
    assert filters.start_date == datetime(2026, 11, 1, tzinfo=CST)
    assert filters.end_date == datetime(2026, 11, 23, 23, 59, 59, 999999, tzinfo=CST)


@pytest.mark.parametrize(
    ("value", "end", "expected"),
    [
        ("2026", False, datetime(2026, 1, 1, tzinfo=CST)),
        ("2026-12", True, datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=CST)),
        ("2026-02", True, datetime(2026, 2, 28, 23, 59, 59, 999999, tzinfo=CST)),
        ("2026-11-23T09:30+08:00", False, datetime(2026, 11, 23, 9, 30, tzinfo=CST)),
        ("2026-11-23T09:30:15.5-05:00", False, datetime(2026, 11, 23, 14, 30, 15, 500000, tzinfo=UTC)),
        ("2026-11-23T09:30:00 08:00", False, datetime(2026, 11, 23, 9, 30, tzinfo=CST)),
        ("2026-11-23T09:30:00", False, datetime(2026, 11, 23, 9, 30, tzinfo=CST)),
    ],
)
def test_w3c_datetimes(value: str, end: bool, expected: datetime) -> None:
    assert parse_w3c_datetime(value, end=end) == expected


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"start_date": "yesterday"}, "start_date"),
        ({"end_date": "2026-13-01"}, "end_date"),
        ({"start_date": "2026-11-01", "end_date": "2026-10-01"}, "after"),
        ({"start_date": "2026-01-01", "end_date": "2026-11-01"}, "90 days"),
        ({"status": "open,pending"}, "status"),
        ({"service_request_id": ",".join(str(i) for i in range(1001))}, "1000"),
    ],
)
def test_list_filter_validation(query: dict[str, str], message: str) -> None:
    with pytest.raises(Open311Error) as caught:
        parse_list_filters(query, now=NOW)
    assert caught.value.code == 400
    assert message in caught.value.description
