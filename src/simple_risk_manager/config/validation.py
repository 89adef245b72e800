"""Validate raw YAML values against a model and say every problem in the words of `config.md`.

Pydantic reports all field errors of a model at once; each is translated here (unknown keys get
"did you mean", replaced keys name their replacement, missing keys say why they are needed), so a
`ValidationError` never reaches the user. When a model fails, its parts that do validate are still
checked for cross-field problems, so one bad value does not hide the others.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import TypeVar

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from simple_risk_manager.config.base import (
    ConfigModel,
    all_problems,
    field_extra,
    model_at,
    model_keys,
    nested_parts,
)
from simple_risk_manager.config.fields import ERROR_TYPE
from simple_risk_manager.config.issues import NO_VALUE, Path, Problem

M = TypeVar("M", bound=ConfigModel)

_MAPPING_ERRORS = frozenset({"model_type", "dict_type", "model_attributes_type", "mapping_type"})
_LIST_ERRORS = frozenset({"list_type", "tuple_type", "iterable_type"})


def validate_model(model: type[M], raw: object) -> tuple[M | None, list[Problem]]:
    """The model, or None; and every problem found (paths relative to the model's mapping)."""
    try:
        validated = model.model_validate(raw)
    except ValidationError as exc:
        problems = [_translate(model, error) for error in exc.errors(include_url=False)]
        return None, problems + list(_valid_part_problems(model, raw))
    return validated, list(all_problems(validated))


def _valid_part_problems(model: type[ConfigModel], raw: object) -> Iterator[Problem]:
    if not isinstance(raw, dict):
        return
    for key, field in model_keys(model).items():
        if key not in raw:
            continue
        for sub_path, sub_model, sub_raw in nested_parts(field.annotation, raw[key]):
            try:
                part = sub_model.model_validate(sub_raw)
            except ValidationError:
                found = _valid_part_problems(sub_model, sub_raw)
            else:
                found = all_problems(part)
            yield from (problem.under((key, *sub_path)) for problem in found)


def _translate(model: type[ConfigModel], error: ErrorDetails) -> Problem:
    path: Path = tuple(error["loc"])
    if path and path[-1] == "[key]":
        path = path[:-1]
    kind = error["type"]
    value = error.get("input", NO_VALUE)
    if kind == ERROR_TYPE:
        return Problem(path, str(error.get("ctx", {}).get("message", error["msg"])), value)
    if kind == "missing":
        return Problem(path, missing_message(model, path))
    if kind == "extra_forbidden":
        return Problem(path, unknown_key_message(model_at(model, path[:-1]), path[-1]))
    if kind in _MAPPING_ERRORS:
        return Problem(path, "must be a mapping of keys and values", value)
    if kind in _LIST_ERRORS:
        return Problem(path, "must be a list", value)
    message = error["msg"]
    return Problem(path, message[:1].lower() + message[1:], value)


def missing_message(root: type[ConfigModel], path: Path) -> str:
    parent = model_at(root, path[:-1])
    field = model_keys(parent).get(str(path[-1])) if parent is not None and path else None
    special = field_extra(field, "missing") if field is not None else None
    return special or "missing, this key is required"


def unknown_key_message(parent: type[ConfigModel] | None, key: str | int) -> str:
    """Replaced keys name their replacement; typos get the closest valid key."""
    if parent is None:
        return "unknown key"
    legacy = parent.legacy_keys.get(str(key))
    if legacy is not None:
        return legacy
    keys = model_keys(parent)
    close = difflib.get_close_matches(str(key), list(keys), n=1, cutoff=0.6)
    if not close:
        return "unknown key; valid keys: " + ", ".join(keys)
    hint = field_extra(keys[close[0]], "hint")
    return f'unknown key, did you mean "{close[0]}"?' + (f" ({hint})" if hint else "")
