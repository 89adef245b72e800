"""The base of every configuration model and the walk over a model's parts.

Models are frozen and strict and forbid unknown keys. Field checks live in the field types
(`fields.py`); checks that need several fields (`lockout` only with `scope: total`, no alias chains …)
live in `problems()`, which yields every problem with its exact sub-path rather than stopping at the
first, so a file's errors are all reported in one run.
"""

from __future__ import annotations

import types
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, ClassVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field
from pydantic.fields import FieldInfo

from simple_risk_manager.config.issues import Path, Problem


class ConfigModel(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="forbid")

    # Keys of older schemas → the message that names their replacement (`config.md` §3.1, §4.4 item 11).
    legacy_keys: ClassVar[Mapping[str, str]] = {}

    def problems(self) -> Iterator[Problem]:
        """Cross-field problems of this model alone; nested models report their own."""
        return iter(())


def required(missing: str) -> Any:
    """A required field whose absence gets its own message (e.g. the 12 rule sections, D-42)."""
    return Field(json_schema_extra={"missing": missing})


def hinted(default: Any, hint: str) -> Any:
    """A field whose "did you mean" suggestion adds a hint (`(positive magnitude, e.g. 500)`)."""
    return Field(default=default, json_schema_extra={"hint": hint})


def field_extra(field: FieldInfo, name: str) -> str | None:
    extra = field.json_schema_extra
    value = extra.get(name) if isinstance(extra, dict) else None
    return value if isinstance(value, str) else None


def model_keys(model: type[BaseModel]) -> dict[str, FieldInfo]:
    """The keys a model accepts, as written in the file (aliases such as `global`)."""
    return {field.alias or name: field for name, field in model.model_fields.items()}


def model_type(annotation: Any) -> type[ConfigModel] | None:
    """The ConfigModel an annotation holds directly or as `X | None`."""
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, types.UnionType):
        found = [arg for arg in get_args(annotation) if model_type(arg) is not None]
        return model_type(found[0]) if len(found) == 1 else None
    if isinstance(annotation, type) and issubclass(annotation, ConfigModel):
        return annotation
    return None


def item_type(annotation: Any) -> Any:
    """The element type of `tuple[X, ...]` / `list[X]`, the value type of `dict[K, X]`, else None."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (tuple, list) and args:
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    return None


def model_at(root: type[ConfigModel], path: Path) -> type[ConfigModel] | None:
    """The model that validates the mapping found at `path` below `root`, if it is one."""
    current: Any = root
    for part in path:
        model = model_type(current)
        if model is not None:
            field = model_keys(model).get(str(part))
            if field is None:
                return None
            current = field.annotation
        else:
            current = item_type(current)
            if current is None:
                return None
    return model_type(current)


def nested_parts(annotation: Any, raw: object) -> Iterator[tuple[Path, type[ConfigModel], object]]:
    """The sub-models a raw value of this field holds: the value itself, or each item of a list."""
    model = model_type(annotation)
    if model is not None:
        if raw is not None:
            yield (), model, raw
        return
    item_model = model_type(item_type(annotation))
    if item_model is not None and get_origin(annotation) in (tuple, list) and isinstance(raw, list):
        for index, item in enumerate(raw):
            yield (index,), item_model, item


def all_problems(model: ConfigModel) -> Iterator[Problem]:
    """`problems()` of the model and of every model nested in it, with paths from this model."""
    yield from model.problems()
    for name, field in type(model).model_fields.items():
        key, value = field.alias or name, getattr(model, name)
        children: list[tuple[Path, object]]
        if isinstance(value, ConfigModel):
            children = [((), value)]
        elif isinstance(value, tuple):
            children = [((index,), item) for index, item in enumerate(value)]
        else:
            children = []
        for sub_path, child in children:
            if isinstance(child, ConfigModel):
                yield from (problem.under((key, *sub_path)) for problem in all_problems(child))

