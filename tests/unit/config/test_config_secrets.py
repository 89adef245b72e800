"""`${VAR}` references (`config.md` §3.2) and the rule that no secret reaches a message or a repr."""

from __future__ import annotations

from pathlib import Path

import pytest

from simple_risk_manager.config import ConfigError, EnvMode, load_config_dir, validate_text
from simple_risk_manager.config.yaml_reader import dump_document, load_document

SHIPPED = Path(__file__).resolve().parents[3] / "config"
API_KEY = "Zq3VmS8pK2wX9rT4uY7nB1cD6fG0hJ5l"
USERNAME = "trader@example.com"
SECOND_KEY = "Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56"
LITERAL_KEY = "Lt9Kq2Wz8Rv3Xb7Nm4Pc6Hd1Fg5Js0Ty"
ENV = {"PROJECT_X_USERNAME": USERNAME, "PROJECT_X_API_KEY": API_KEY,
       "SECOND_LOGIN_USERNAME": "second-login", "SECOND_LOGIN_API_KEY": SECOND_KEY}
SECRETS = (API_KEY, SECOND_KEY, LITERAL_KEY)


def template_with(**changes: object) -> str:
    document = load_document((SHIPPED / "accounts.yaml.template").read_text(encoding="utf-8"))
    for dotted, value in changes.items():
        *parents, last = [int(p) if p.isdigit() else p for p in dotted.split("__")]
        node = document
        for part in parents:
            node = node[part]
        node[last] = value
    return dump_document(document)


def check(text: str, env: dict[str, str], mode: EnvMode = EnvMode.REQUIRED) -> tuple[list[str], list[str]]:
    result = validate_text("accounts.yaml", text, env=env, env_mode=mode)
    return [str(e) for e in result.errors], [str(w) for w in result.warnings]


def write_dir(tmp_path: Path, accounts: str) -> Path:
    (tmp_path / "accounts.yaml").write_text(accounts, encoding="utf-8")
    (tmp_path / "accounts.yaml").chmod(0o600)
    (tmp_path / "risk_config.yaml").write_text((SHIPPED / "risk_config.yaml").read_text(encoding="utf-8"),
                                               encoding="utf-8")
    return tmp_path


def test_set_variables_are_resolved(tmp_path: Path) -> None:
    config = load_config_dir(write_dir(tmp_path, template_with()), env=ENV)
    first = config.account_configs()[0]
    assert (first.username, first.api_key) == (USERNAME, API_KEY)
    assert config.accounts_file.topstepx is not None
    assert config.accounts_file.topstepx.api_key.get_secret_value() == API_KEY


def test_unset_variable_is_an_error_naming_it() -> None:
    env = {k: v for k, v in ENV.items() if k != "PROJECT_X_API_KEY"}
    assert check(template_with(), env) == (
        ["accounts.yaml: topstepx.api_key: environment variable PROJECT_X_API_KEY is not set"], [])


def test_empty_variable_is_an_error() -> None:
    assert check(template_with(), {**ENV, "PROJECT_X_USERNAME": ""}) == (
        ["accounts.yaml: topstepx.username: environment variable PROJECT_X_USERNAME is empty"], [])


def test_disabled_account_only_warns() -> None:
    env = {"PROJECT_X_USERNAME": USERNAME, "PROJECT_X_API_KEY": API_KEY}
    assert check(template_with(), env) == ([], [
        "accounts.yaml: accounts[2].username: environment variable SECOND_LOGIN_USERNAME is not set "
        "(account disabled, its login is not used)",
        "accounts.yaml: accounts[2].api_key: environment variable SECOND_LOGIN_API_KEY is not set "
        "(account disabled, its login is not used)",
    ])


def test_enabling_the_account_makes_it_an_error() -> None:
    env = {"PROJECT_X_USERNAME": USERNAME, "PROJECT_X_API_KEY": API_KEY}
    errors, _ = check(template_with(accounts__2__enabled=True), env)
    assert errors == [
        "accounts.yaml: accounts[2].username: environment variable SECOND_LOGIN_USERNAME is not set",
        "accounts.yaml: accounts[2].api_key: environment variable SECOND_LOGIN_API_KEY is not set",
    ]


@pytest.mark.parametrize("value", ["key-${PROJECT_X_API_KEY}", "${PROJECT_X_API_KEY}x", "$PROJECT_X_API_KEY}",
                                   "${PROJECT_X_API_KEY}${PROJECT_X_USERNAME}"])
def test_partial_interpolation_is_not_supported(value: str) -> None:
    errors, _ = check(template_with(topstepx__api_key=value), ENV)
    if value.startswith("$P"):  # no "${" at all: an ordinary (odd) key, accepted as written
        assert errors == []
    else:
        assert errors == ['accounts.yaml: topstepx.api_key: partial ${VAR} interpolation is not supported; '
                          'the whole value must be "${NAME}" (got <redacted>)']


def test_malformed_reference_is_an_error_even_for_a_disabled_account() -> None:
    errors, _ = check(template_with(accounts__2__api_key="${SECOND_LOGIN_API_KEY}-old"), ENV)
    assert errors == ['accounts.yaml: accounts[2].api_key: partial ${VAR} interpolation is not supported; '
                      'the whole value must be "${NAME}" (got <redacted>)']


def test_syntax_only_mode_never_reads_the_environment() -> None:
    assert check(template_with(), {}, EnvMode.SYNTAX_ONLY) == ([], [])
    errors, _ = check(template_with(topstepx__username="${bad-name}"), {}, EnvMode.SYNTAX_ONLY)
    assert errors == ['accounts.yaml: topstepx.username: invalid environment variable name "bad-name": use '
                      'upper-case letters, digits and _, not starting with a digit (got "${bad-name}")']


def all_text(exc_or_result: object, issues: list[str]) -> str:
    return "\n".join([*issues, str(exc_or_result), repr(exc_or_result)])


def test_secrets_never_appear_in_errors_or_reprs(tmp_path: Path) -> None:
    """Every way a secret could leak: a bad resolved value, a bad literal key, a container rendering,
    a syntax error on the key's line, the exception and the loaded config's repr."""
    bad_env = {**ENV, "PROJECT_X_API_KEY": API_KEY + " trailing", "SECOND_LOGIN_API_KEY": SECOND_KEY}
    text = template_with(accounts__1__api_key=LITERAL_KEY + " x")
    with pytest.raises(ConfigError) as caught:
        load_config_dir(write_dir(tmp_path, text), env=bad_env)
    issues = [str(e) for e in caught.value.errors] + [str(w) for w in caught.value.warnings]
    expected = "accounts.yaml: topstepx.api_key: must not contain spaces or line breaks (got <redacted>)"
    assert expected in issues
    leaked = all_text(caught.value, issues)
    for secret in SECRETS:
        assert secret not in leaked

    topstepx_as_list = template_with(topstepx=[{"api_key": LITERAL_KEY}])
    errors, _ = check(topstepx_as_list, ENV)
    assert errors == ["accounts.yaml: topstepx: must be a mapping of keys and values "
                      "(got [{api_key: <redacted>}])"]

    broken = f'topstepx:\n  username: u\n  api_key: "{LITERAL_KEY}\naccounts: [{{account_id: 1}}]\n'
    errors, _ = check(broken, ENV)
    assert len(errors) == 1 and LITERAL_KEY not in errors[0]

    config = load_config_dir(write_dir(tmp_path, template_with(accounts__1__api_key=LITERAL_KEY,
                                                               accounts__1__username="own")), env=ENV)
    shown = "\n".join([repr(config), repr(config.accounts_file), str(config.accounts_file),
                       repr(config.account_configs()), str(config.accounts_file.model_dump())])
    for secret in SECRETS:
        assert secret not in shown
