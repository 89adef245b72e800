"""Configuration YAML: ruamel.yaml, YAML 1.2 core schema, safe, strict (`config.md` §2).

Files are parsed with the round-trip parser (the one the Admin CLI edits with, keeping comments) into
nodes, and this module turns the nodes into plain Python values itself. Seeing every node lets it
report duplicate keys and tags with their path, and mark plain (unquoted) scalars that look like
times: ruamel's YAML 1.2 resolver reads `17:00` as the text "17:00", but YAML 1.1 tools (and files
carrying `%YAML 1.1`) read it as the number 1020, so the time validator insists on quotes.
"""

from __future__ import annotations

import io
import re
from typing import Any, Final

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from simple_risk_manager.config.issues import Path, Problem, Verbatim

_CORE: Final = "tag:yaml.org,2002:"
_MAP: Final = _CORE + "map"
_SEQ: Final = _CORE + "seq"
_STR: Final = _CORE + "str"
_MERGE: Final = _CORE + "merge"
_SCALAR_TAGS: Final = frozenset(_CORE + name for name in ("str", "int", "float", "bool", "null", "timestamp"))
_TIME_LIKE: Final = re.compile(r"\d{1,2}:\d{2}(:\d{2})?")
_DIRECTIVE: Final = re.compile(r"^%YAML[ \t]+(\S+)", re.MULTILINE)


class UnquotedTime(Verbatim):
    """A plain scalar such as `17:00`: text under YAML 1.2, the number 1020 under YAML 1.1."""

    __slots__ = ()


def round_trip_yaml() -> YAML:
    """The one ruamel configuration for reading and editing: round-trip, quotes kept, no duplicates."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.allow_duplicate_keys = False
    return yaml


def load_document(text: str) -> Any:
    """An editable document (comments, key order and quoting kept) for the Admin CLI and tests."""
    return round_trip_yaml().load(text)


def dump_document(document: Any) -> str:
    buffer = io.StringIO()
    round_trip_yaml().dump(document, buffer)
    return buffer.getvalue()


def read_yaml(text: str) -> tuple[object, list[Problem]]:
    """Text → plain Python values (dict, list, str, int, float, bool, None, date) and the problems.

    A syntax error makes the whole file unreadable (value None); duplicate keys and tags are
    reported and reading continues, so the rest of the file is still validated.
    """
    for match in _DIRECTIVE.finditer(text):
        if match.group(1) != "1.2":
            line = text.count("\n", 0, match.start()) + 1
            return None, [Problem(
                (f"line {line}",),
                f'only YAML 1.2 is supported; remove the "%YAML {match.group(1)}" line '
                "(YAML 1.1 reads yes/no as booleans and 17:00 as the number 1020)",
            )]
    try:
        node = round_trip_yaml().compose(text)
    except MarkedYAMLError as exc:
        return None, [_syntax_problem(exc)]
    except YAMLError as exc:
        return None, [Problem((), f"not readable as YAML: {str(exc).splitlines()[0]}")]
    if node is None:
        return None, []
    converter = _Converter()
    return converter.convert(node, ()), converter.problems


def _syntax_problem(exc: MarkedYAMLError) -> Problem:
    """Position and problem only: ruamel's snippet of the offending line could contain a secret."""
    mark = exc.problem_mark or exc.context_mark
    where = (f"line {mark.line + 1}, column {mark.column + 1}",) if mark is not None else ()
    problem = ", ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
    return Problem(where, f"YAML syntax error: {problem}")


def _tag(node: Node) -> str:
    tag = node.tag
    return str(getattr(tag, "value", tag))


def _short_tag(tag: str) -> Verbatim:
    return Verbatim("!!" + tag[len(_CORE):] if tag.startswith(_CORE) else tag)


class _Converter:
    """Nodes → Python values; scalars through ruamel's safe constructor (YAML 1.2 core rules)."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self._scalars = YAML(typ="safe", pure=True).constructor

    def convert(self, node: Node, path: Path) -> object:
        tag = _tag(node)
        if isinstance(node, MappingNode):
            if tag != _MAP:
                self._tag_problem(path, tag)
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            if tag != _SEQ:
                self._tag_problem(path, tag)
            return [self.convert(item, (*path, index)) for index, item in enumerate(node.value)]
        assert isinstance(node, ScalarNode)  # the composer makes only these three kinds of node
        if tag not in _SCALAR_TAGS:
            self._tag_problem(path, tag)
            return str(node.value)
        return self._scalar(node)

    def _tag_problem(self, path: Path, tag: str) -> None:
        self.problems.append(Problem(path, "YAML tags are not allowed", _short_tag(tag)))

    def _mapping(self, node: MappingNode, path: Path) -> dict[object, object]:
        result: dict[object, object] = {}
        first_line: dict[object, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if _tag(key_node) == _MERGE:
                self.problems.append(Problem(path, f"line {line}: merge keys (<<) are not supported; "
                                                   "write the keys out"))
                continue
            if not isinstance(key_node, ScalarNode):
                self.problems.append(Problem(path, f"line {line}: a key must be a plain name"))
                continue
            key = self._scalar(key_node)
            key = str(key) if isinstance(key, Verbatim) else key
            if key in first_line:
                self.problems.append(Problem((*path, _key_part(key)),
                                             f"duplicate key (first on line {first_line[key]})"))
                continue
            first_line[key] = line
            result[key] = self.convert(value_node, (*path, _key_part(key)))
        return result

    def _scalar(self, node: ScalarNode) -> object:
        if _tag(node) == _STR:
            text = str(node.value)
            return UnquotedTime(text) if node.style is None and _TIME_LIKE.fullmatch(text) else text
        try:
            return self._scalars.construct_object(node, deep=True)
        except (ValueError, TypeError, YAMLError):
            return str(node.value)  # e.g. 2025-13-01: resolved as a date but not one; validators say so


def _key_part(key: object) -> str | int:
    return key if isinstance(key, str | int) and not isinstance(key, bool) else str(key)
