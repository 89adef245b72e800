"""Block-style YAML text for the demo's generated configuration files.

Every string is written double-quoted (JSON escaping is valid YAML), so times such as "17:00" stay
strings, as `config.md` §2 requires, and no value is ever re-typed by the reader. Numbers are written
from their exact text (a `Decimal` stays `500.00`). Mappings and lists of mappings are blocks; lists of
scalars are one flow line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal

Scalar = str | int | Decimal | bool | None


def yaml_text(document: Mapping[str, object], header: str = "") -> str:
    """The whole file: `header` lines as comments, then the mapping."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    lines += _mapping(document, 0)
    return "\n".join(lines) + "\n"


def _scalar(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    raise TypeError(f"no YAML form for {type(value).__name__} value {value!r}")


def _is_scalar_list(value: object) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str) and not any(
        isinstance(item, Mapping) for item in value)


def _mapping(mapping: Mapping[str, object], indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for key, value in mapping.items():
        name = json.dumps(key) if not key.replace("_", "").isalnum() else key
        if isinstance(value, Mapping):
            lines += [f"{pad}{name}:", *_mapping(value, indent + 2)] if value else [f"{pad}{name}: {{}}"]
        elif _is_scalar_list(value):
            assert isinstance(value, Sequence)
            lines.append(f"{pad}{name}: [{', '.join(_scalar(item) for item in value)}]")
        elif isinstance(value, Sequence) and not isinstance(value, str):
            lines.append(f"{pad}{name}:")
            for item in value:
                assert isinstance(item, Mapping)
                block = _mapping(item, indent + 4)
                lines += [f"{pad}  - {block[0].lstrip()}", *block[1:]]
        else:
            lines.append(f"{pad}{name}: {_scalar(value)}")
    return lines
