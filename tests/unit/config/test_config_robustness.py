"""Whatever the YAML holds, validation answers with problem lines, never with an exception or a secret."""

from __future__ import annotations

import copy
import io
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from simple_risk_manager.config import EnvMode, validate_text

SHIPPED = Path(__file__).resolve().parents[3] / "config"
SECRET = "k" * 20
ENV = {"X": SECRET, "PROJECT_X_USERNAME": "u", "PROJECT_X_API_KEY": SECRET,
       "SECOND_LOGIN_USERNAME": "v", "SECOND_LOGIN_API_KEY": SECRET}
KEYS = st.sampled_from([
    "version", "global", "rules", "topstepx", "accounts", "account_id", "enabled", "limit", "max_contracts",
    "risk_overrides", "api_key", "username", "timezone", "limits", "loss_thresholds", "broadcast", "level",
    "mask", "x",
])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 100_000), st.floats(allow_nan=True),
                    st.text(max_size=12), st.sampled_from(["17:00", "${X}", "UTC", "MNQ", "block"]))
VALUES = st.recursive(
    SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=5)),
    max_leaves=25)


def load(name: str) -> object:
    return YAML(typ="safe", pure=True).load((SHIPPED / name).read_text(encoding="utf-8"))


EXAMPLES = {"risk_config.yaml": load("risk_config.yaml"), "accounts.yaml": load("accounts.yaml.template")}


def dumped(value: object) -> str:
    buffer = io.StringIO()
    YAML(typ="safe", pure=True).dump(value, buffer)
    return buffer.getvalue()


def paths(value: object, path: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    if isinstance(value, dict):
        return [path, *(p for key, item in value.items() for p in paths(item, (*path, key)))]
    if isinstance(value, list):
        return [path, *(p for index, item in enumerate(value) for p in paths(item, (*path, index)))]
    return [path]


def assert_problem_lines(file: str, text: str) -> None:
    result = validate_text(file, text, env=ENV, env_mode=EnvMode.REQUIRED)
    for issue in (*result.errors, *result.warnings):
        assert str(issue).startswith(file) and SECRET not in str(issue)


@settings(max_examples=100, deadline=None)
@given(file=st.sampled_from(["accounts.yaml", "risk_config.yaml", "daemon.yaml", "logging.yaml"]),
       value=VALUES)
def test_any_document(file: str, value: object) -> None:
    assert_problem_lines(file, dumped(value))


@settings(max_examples=100, deadline=None)
@given(data=st.data(), file=st.sampled_from(sorted(EXAMPLES)), value=VALUES)
def test_any_value_anywhere_in_the_shipped_files(data: st.DataObject, file: str, value: object) -> None:
    document = copy.deepcopy(EXAMPLES[file])
    path = data.draw(st.sampled_from(paths(document)[1:]))
    node = document
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    assert_problem_lines(file, dumped(document))
