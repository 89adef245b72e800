"""Edits inside the round-trip documents of `accounts.yaml` and `risk_config.yaml`.

Values typed by the administrator (`rules set RULE key=value`) are read as YAML flow values, so
`5`, `600.00`, `true`, `[ES, NQ]` and `{MNQ: 2}` mean what they mean in the file; text is written
double-quoted like the shipped files, so `start=09:30` stays the string "09:30" (YAML 1.1 tools would
read it as a number) and `enabled=yes` stays the string "yes", which the validator refuses.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from simple_risk_manager.admin.errors import AdminError, UsageError, ValidationFailedError
from simple_risk_manager.config.rule_catalog import RuleInfo
from simple_risk_manager.config.yaml_reader import round_trip_yaml


def quoted(value: Any) -> Any:
    """Strings (also inside lists and maps) as double-quoted scalars; everything else unchanged."""
    if isinstance(value, str):
        return DoubleQuotedScalarString(value)
    if isinstance(value, list):
        for index, item in enumerate(value):
            value[index] = quoted(item)
    elif isinstance(value, dict):
        for key in list(value):
            value[key] = quoted(value[key])
    return value


def parse_flow_value(text: str, where: str) -> Any:
    """`text` as one YAML flow value (see the module docstring)."""
    if not text.strip():
        raise UsageError(f"{where}: a value is needed after '=' (write null for none)")
    try:
        value = round_trip_yaml().load(text)
    except YAMLError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid YAML"
        raise ValidationFailedError(f"{where}: not a YAML value: {text} ({first})") from None
    return quoted(value)


def parse_assignment(text: str) -> tuple[list[str | int], Any]:
    """`limits.per_minute=5` → (["limits", "per_minute"], 5); list positions are numbers."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise UsageError(f"{text!r}: write key=value (dotted keys for nested values, "
                         "e.g. limits.per_minute=5)")
    parts: list[str | int] = [int(part) if part.isdigit() else part for part in key.strip().split(".")]
    if any(part == "" for part in parts):
        raise UsageError(f"{key!r}: empty part in the dotted key")
    return parts, parse_flow_value(value.strip(), key.strip())


def set_path(container: Any, parts: list[str | int], value: Any, where: str) -> None:
    """Set `container[p0][p1]…` to `value`, creating missing maps on the way (comments stay put)."""
    node = container
    for depth, part in enumerate(parts[:-1]):
        child = _child(node, part, where, parts[: depth + 1])
        if child is None:
            child = CommentedMap()
            _assign(node, part, child, where, parts[: depth + 1])
        node = child
    _assign(node, parts[-1], value, where, parts)


def _label(parts: list[str | int]) -> str:
    return ".".join(str(part) for part in parts)


def _child(node: Any, part: str | int, where: str, path: list[str | int]) -> Any:
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int):
        return node[part] if part < len(node) else None
    raise ValidationFailedError(f"{where}: {_label(path[:-1]) or 'the section'} is not a mapping; "
                           f"cannot set {_label(path)}")


def _assign(node: Any, part: str | int, value: Any, where: str, path: list[str | int]) -> None:
    if isinstance(node, dict):
        node[part] = value
    elif isinstance(node, list) and isinstance(part, int) and part <= len(node):
        if part == len(node):
            node.append(value)
        else:
            node[part] = value
    else:
        raise ValidationFailedError(f"{where}: cannot set {_label(path)}: no such position")


def mapping(document: Any, where: str) -> CommentedMap:
    if not isinstance(document, CommentedMap):
        raise ValidationFailedError(f"{where}: the top level must be a mapping")
    return document


def rule_section(document: Any, info: RuleInfo, filename: str) -> CommentedMap:
    rules = mapping(document, filename).get("rules")
    section = rules.get(info.key) if isinstance(rules, dict) else None
    if not isinstance(section, CommentedMap):
        raise AdminError(f"{filename}: rules.{info.key} ({info.rule_id}) is missing; "
                         "srm admin rules reset restores the shipped file")
    return section


def account_entries(document: Any, filename: str) -> CommentedSeq:
    accounts = mapping(document, filename).get("accounts")
    if not isinstance(accounts, CommentedSeq):
        raise AdminError(f"{filename}: accounts is not a list")
    return accounts


def account_entry(document: Any, account_id: int, filename: str) -> tuple[int, CommentedMap]:
    for index, entry in enumerate(account_entries(document, filename)):
        if isinstance(entry, CommentedMap) and entry.get("account_id") == account_id:
            return index, entry
    raise AdminError(f"account {account_id} is not in {filename} (srm admin account list)")


def set_or_remove(entry: CommentedMap, key: str, value: Any) -> None:
    """`value` None removes the key (the default applies again)."""
    if value is None:
        entry.pop(key, None)
    else:
        entry[key] = quoted(value)
