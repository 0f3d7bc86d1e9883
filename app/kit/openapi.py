"""The OpenAPI document as SDK generators read it.

FastAPI derives the document from the routes; a few things it cannot know are finished here, once,
after every other hook:

- request bodies the server reads itself (an action's body is checked after the issue's state, a
  batch answers per item) are still published as their models: a route names its model with
  :func:`documented_body`, and the schema of that model replaces the generic one;
- error responses documented by a description only get the problem+json body they have;
- operations that need no credentials say so (``security: []``);
- enums carry their Chinese labels (``x-enum-descriptions``, and in ``description``);
- every tag is declared, with what it groups;
- the document names its server (relative: the service's own origin);
- components nothing refers to are dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from app.kit.labels import labelled_enums

REF_TEMPLATE = "#/components/schemas/{model}"
_BODY_KEY = "x-minqing-body"
_BODIES: dict[str, Any] = {}


def documented_body(
    annotation: Any, *, name: str | None = None, required: bool = True, examples: dict[str, Any] | None = None
) -> dict[str, Any]:
    """``openapi_extra`` for a route whose body the endpoint validates itself: publish ``annotation``
    (a model, or e.g. ``list[Model]``) as the request body, with ``examples`` (OpenAPI example
    objects by name). The route keeps taking its body as it did."""
    key = name or getattr(annotation, "__name__", None) or repr(annotation)
    _BODIES[key] = annotation
    return {_BODY_KEY: {"name": key, "required": required, "examples": examples or {}}}


def _schema_of(annotation: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(schema, component definitions) for a model or any annotation, with refs into components."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        _, top = models_json_schema([(annotation, "validation")], ref_template=REF_TEMPLATE)
        defs = top.get("$defs", {})
        return {"$ref": REF_TEMPLATE.format(model=annotation.__name__)}, defs
    schema = TypeAdapter(annotation).json_schema(ref_template=REF_TEMPLATE, mode="validation")
    defs = schema.pop("$defs", {})
    return schema, defs


def _operations(schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for item in schema.get("paths", {}).values():
        for method, operation in item.items():
            if method in {"get", "put", "post", "patch", "delete", "head", "options"}:
                yield operation


def _publish_bodies(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for operation in _operations(schema):
        marker = operation.pop(_BODY_KEY, None)
        if marker is None:
            continue
        body_schema, defs = _schema_of(_BODIES[marker["name"]])
        for name, definition in defs.items():
            components.setdefault(name, definition)
        content: dict[str, Any] = {"schema": body_schema}
        if marker["examples"]:
            content["examples"] = marker["examples"]
        operation["requestBody"] = {"required": marker["required"], "content": {"application/json": content}}


def _problem_bodies(schema: dict[str, Any]) -> None:
    """An error response documented by its description only (a route's own ``responses`` replace the
    router's entry for the same status) is still problem+json: say so."""
    from app.errors import PROBLEM_JSON, PROBLEM_REF

    for operation in _operations(schema):
        for status, response in operation.get("responses", {}).items():
            if str(status)[:1] in {"4", "5"} and not response.get("content"):
                response["content"] = {PROBLEM_JSON: {"schema": dict(PROBLEM_REF)}}


def _mark_public(schema: dict[str, Any]) -> None:
    for operation in _operations(schema):
        operation.setdefault("security", [])


def _label_enums(schema: dict[str, Any]) -> None:
    components = schema.get("components", {}).get("schemas", {})
    for enum, labels in labelled_enums():
        component = components.get(enum.__name__)
        if component is None or "enum" not in component:
            continue
        names = [labels.get(member, member.value) for member in enum]
        component["x-enum-descriptions"] = names
        listing = "; ".join(f"`{member.value}` {label}" for member, label in zip(enum, names, strict=True))
        component["description"] = (component.get("description", "") + "\n\n" + listing).strip()


# The document's tags in reading order, each with what it groups (Swagger UI and generators show these).
TAGS: dict[str, str] = {
    "issues": "诉求工单: the closed loop from report to the resident's rating (上报→受理→派单→办结→核查→结案→评价)",
    "diary": "民情日记: grid workers' visit diary, uploaded in batches from phones that were offline",
    "residents": "实有人口: buildings, households and residents (personal data masked unless the role may see it)",
    "mediation": "矛盾纠纷调解: disputes, sessions, outcomes and follow-ups",
    "areas": "网格: the area tree from district to micro-grid, with boundaries",
    "stats": "统计: figures and rates for the caller's area",
    "sync": "离线同步: the change feed for phones",
    "users": "用户、单位与 API 密钥",
    "auth": "登录: tokens for staff",
    "audit": "审计: who read or changed personal data",
    "webhooks": "Webhooks: subscriptions and deliveries for integrations",
    "hotline": "12345 热线对接: signed tickets and updates from the hotline platform",
    "open311": "Open311 GeoReport v2 (JSON or XML), public",
    "feedback": "回访: the resident's one-time rating link, public",
    "meta": "枚举与中文标签",
    "system": "运行状态与错误说明 (health, readiness, metrics, problem types)",
}


def _declare_tags(schema: dict[str, Any]) -> None:
    used = {tag for operation in _operations(schema) for tag in operation.get("tags", [])}
    order = [*TAGS, *sorted(used - set(TAGS))]
    schema["tags"] = [{"name": tag, "description": TAGS.get(tag, tag)} for tag in order if tag in used]


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            yield ref.rsplit("/", 1)[1]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _drop_unused(schema: dict[str, Any]) -> None:
    components = schema.get("components", {}).get("schemas", {})
    used: set[str] = set()
    todo = list(_refs({k: v for k, v in schema.items() if k != "components"}))
    while todo:
        name = todo.pop()
        if name in used or name not in components:
            continue
        used.add(name)
        todo.extend(_refs(components[name]))
    for name in list(components):
        if name not in used:
            del components[name]


def install(app: FastAPI) -> None:
    """Finish the document (to be called after every other hook that edits it)."""
    generate = app.openapi
    finished: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        if not finished:
            schema = generate()
            _publish_bodies(schema)
            _problem_bodies(schema)
            _mark_public(schema)
            _label_enums(schema)
            _declare_tags(schema)
            _drop_unused(schema)
            schema.setdefault("servers", [{"url": "/", "description": "this service"}])
            finished.append(schema)
        return finished[0]

    app.openapi = openapi  # type: ignore[method-assign]
