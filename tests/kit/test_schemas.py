"""Input models: what the published schema allows, validation accepts."""

from __future__ import annotations

import jsonschema_rs
import pydantic
from pydantic import Field

from app.kit.schemas import InputModel, Text


class _Named(InputModel):
    name: Text = Field(min_length=1, max_length=20)
    code: Text | None = Field(default=None, min_length=3, max_length=20)


def test_stripped_strings_need_their_minimum_between_non_spaces():
    validator = jsonschema_rs.Draft202012Validator(_Named.model_json_schema())
    for body in ({"name": "  "}, {"name": "x", "code": " ab "}, {"name": "x", "code": "a b"}, {"name": "东"}):
        try:
            _Named.model_validate(body)
            model_ok = True
        except pydantic.ValidationError:
            model_ok = False
        assert validator.is_valid(body) == model_ok, body
