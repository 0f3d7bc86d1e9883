"""A labelled vocabulary is its values to the database and the API, its labels to people; a small
workflow table refuses an action in the wrong state with 409 and the actions that state takes."""

from __future__ import annotations

import json
from enum import StrEnum

import pytest
from pydantic import TypeAdapter

from app.errors import Conflict
from app.kit.labels import LabelledEnum, labels
from app.kit.workflow import advance, allowed, table


class Season(LabelledEnum):
    SPRING = "spring", "春"
    MID_AUTUMN = "mid_autumn", "中秋"


class Step(StrEnum):
    START = "start"
    NOTE = "note"
    FINISH = "finish"


class State(StrEnum):
    NEW = "new"
    RUNNING = "running"
    DONE = "done"


STEPS = table(
    {
        Step.START: ({State.NEW}, State.RUNNING),
        Step.NOTE: ({State.NEW, State.RUNNING}, None),
        Step.FINISH: ({State.RUNNING}, State.DONE),
    }
)


def test_a_labelled_member_is_its_value_everywhere_but_its_label():
    assert Season("mid_autumn") is Season.MID_AUTUMN
    assert Season.MID_AUTUMN == "mid_autumn" and str(Season.MID_AUTUMN) == "mid_autumn"
    assert json.dumps(Season.SPRING) == '"spring"'
    assert Season.MID_AUTUMN.label == "中秋"
    assert labels(Season) == {Season.SPRING: "春", Season.MID_AUTUMN: "中秋"}
    assert TypeAdapter(Season).json_schema()["enum"] == ["spring", "mid_autumn"]
    assert TypeAdapter(Season).validate_python("spring") is Season.SPRING


def test_a_table_leads_to_its_target_or_keeps_the_state():
    assert advance(STEPS, State.NEW, Step.START, "job") is State.RUNNING
    assert advance(STEPS, State.RUNNING, Step.NOTE, "job") is State.RUNNING
    assert allowed(STEPS, State.RUNNING) == [Step.NOTE, Step.FINISH]
    assert allowed(STEPS, State.DONE) == []


def test_a_table_refuses_with_409_and_what_the_state_takes():
    with pytest.raises(Conflict) as refused:
        advance(STEPS, State.NEW, Step.FINISH, "job")
    problem = refused.value.to_problem()
    assert problem["status"] == 409 and problem["code"] == "invalid_transition"
    assert problem["detail"] == "A job that is new does not take finish."
    assert problem["allowed_actions"] == ["start", "note"]
