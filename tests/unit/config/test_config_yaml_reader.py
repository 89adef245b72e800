"""The YAML reader (`config.md` §2): YAML 1.2 core schema, safe, duplicates and tags reported."""

from __future__ import annotations

from datetime import date

import pytest

from simple_risk_manager.config.issues import Problem, render_value
from simple_risk_manager.config.yaml_reader import (
    UnquotedTime,
    dump_document,
    load_document,
    read_yaml,
)


@pytest.mark.parametrize(("scalar", "expected"), [
    ("yes", "yes"), ("no", "no"), ("on", "on"), ("off", "off"),  # strings under YAML 1.2
    ("true", True), ("False", False), ("~", None), ("null", None),
    ("5", 5), ("0x1F", 31), ("0o17", 15), ("5.0", 5.0), ("-500", -500),
    ("2025-11-27", date(2025, 11, 27)), ('"2025-11-27"', "2025-11-27"),
    ('"17:00"', "17:00"),
])
def test_core_schema_scalars(scalar: str, expected: object) -> None:
    value, problems = read_yaml(f"key: {scalar}\n")
    assert problems == []
    assert isinstance(value, dict)
    assert value["key"] == expected and type(value["key"]) is type(expected)


def test_unquoted_time_is_marked_as_such() -> None:
    """ruamel 0.19 resolves a plain 17:00 as the text "17:00" under YAML 1.2 (YAML 1.1 tools read 1020),
    so the reader marks it and the time validator can demand quotes."""
    value, problems = read_yaml("reset: 17:00\nquoted: '17:00'\n")
    assert problems == []
    assert isinstance(value, dict)
    assert isinstance(value["reset"], UnquotedTime) and value["reset"] == "17:00"
    assert not isinstance(value["quoted"], UnquotedTime)
    assert render_value(value["reset"]) == "17:00" and render_value(value["quoted"]) == '"17:00"'


def test_duplicate_keys_are_reported_with_their_path_everywhere() -> None:
    value, problems = read_yaml("a:\n  b: 1\n  b: 2\nc: 3\nc: 4\n")
    assert value == {"a": {"b": 1}, "c": 3}
    assert problems == [Problem(("a", "b"), "duplicate key (first on line 2)"),
                        Problem(("c",), "duplicate key (first on line 4)")]


def test_object_tags_are_refused_and_nothing_is_constructed() -> None:
    value, problems = read_yaml("a: !!python/object/apply:os.system ['echo hi']\nb: !custom x\n")
    assert value == {"a": ["echo hi"], "b": "x"}
    assert [(p.path, p.message, render_value(p.value)) for p in problems] == [
        (("a",), "YAML tags are not allowed", "!!python/object/apply:os.system"),
        (("b",), "YAML tags are not allowed", "!custom"),
    ]


def test_merge_keys_are_refused() -> None:
    _, problems = read_yaml("base: &b {x: 1}\nother:\n  <<: *b\n")
    assert problems == [Problem(("other",), "line 3: merge keys (<<) are not supported; write the keys out")]


def test_syntax_error_gives_position_not_content() -> None:
    value, problems = read_yaml('a: 1\nb: "secret-value\n')
    assert value is None
    assert len(problems) == 1
    assert problems[0].path == ("line 3, column 1",)
    assert "secret-value" not in problems[0].message


def test_several_documents_are_refused() -> None:
    value, problems = read_yaml("a: 1\n---\nb: 2\n")
    assert value is None
    assert problems == [Problem(("line 2, column 1",), "YAML syntax error: expected a single document in the "
                                                        "stream, but found another document")]


def test_empty_text_is_none_without_problems() -> None:
    assert read_yaml("# only a comment\n") == (None, [])


def test_round_trip_keeps_comments_and_quotes() -> None:
    text = '# head\nglobal:\n  daily_reset_time: "17:00"  # the reset\n  include_fees: true\n'
    document = load_document(text)
    document["global"]["include_fees"] = False
    assert dump_document(document) == text.replace("true", "false")
