"""The demo configuration: valid for the daemon's own validator, and right whatever the time and day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simple_risk_manager.config.loader import load_config_dir
from simple_risk_manager.config.yaml_reader import read_yaml
from simple_risk_manager.demo.config_files import (
    ALL_DAYS,
    ZONE,
    DemoSchedule,
    config_files,
    demo_accounts,
    write_config,
)
from simple_risk_manager.demo.processes import SimEndpoints
from simple_risk_manager.demo.yaml_text import yaml_text
from simple_risk_manager.state.calendar import SessionConfig, in_session, next_reset_after

SIM = SimEndpoints(url="http://127.0.0.1:41000", user_hub_url="http://127.0.0.1:41000/hubs/user",
                   market_hub_url="http://127.0.0.1:41000/hubs/market", user_name="demo",
                   api_key="sim-demo-api-key", account_ids=(7001, 7002))
#: Longer than any demo run: nothing in the schedule may change during it.
DEMO_SPAN = timedelta(minutes=30)

instants = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31),
                        timezones=st.just(UTC))


def session(start: str, end: str) -> SessionConfig:
    return SessionConfig.from_rule(start=start, end=end, timezone=ZONE, global_timezone=ZONE,
                                   allowed_days=ALL_DAYS)


def write_demo(directory: Path, now: datetime) -> tuple[DemoSchedule, dict[str, int]]:
    schedule = DemoSchedule.around(now)
    accounts = demo_accounts(schedule)
    ids = {account.key: 9001 + n for n, account in enumerate(accounts)}
    write_config(directory, config_files(SIM, accounts, ids, schedule, 8799))
    return schedule, ids


@given(instants)
@settings(max_examples=300, deadline=None)
def test_the_normal_session_holds_and_the_closed_one_stays_closed_for_the_whole_demo(now: datetime) -> None:
    schedule = DemoSchedule.around(now)
    open_window = session(schedule.session_start, schedule.session_end)
    closed_window = session(schedule.closed_start, schedule.closed_end)
    for moment in (now, now + DEMO_SPAN):
        assert in_session(moment, open_window), (schedule, moment)
        assert not in_session(moment, closed_window), (schedule, moment)


@given(instants)
@settings(max_examples=300, deadline=None)
def test_no_daily_reset_during_the_demo(now: datetime) -> None:
    schedule = DemoSchedule.around(now)
    assert next_reset_after(now, schedule.reset_time, ZONE) > now + DEMO_SPAN


@pytest.mark.parametrize("now", [
    datetime(2025, 3, 9, 8, 30, tzinfo=UTC),   # Chicago springs forward at 02:00 local that day
    datetime(2025, 11, 2, 7, 30, tzinfo=UTC),  # and falls back
    datetime(2025, 12, 25, 5, 59, tzinfo=UTC),  # just before local midnight, a holiday in the shipped config
    datetime(2026, 1, 3, 18, 0, tzinfo=UTC),   # a Saturday
], ids=["DST start", "DST end", "midnight on a holiday", "saturday"])
def test_the_daemon_validator_accepts_the_files(tmp_path: Path, now: datetime) -> None:
    schedule, ids = write_demo(tmp_path, now)
    loaded = load_config_dir(tmp_path)
    assert loaded.warnings == ()
    assert [a.account_id for a in loaded.accounts] == list(ids.values())
    assert loaded.daemon.broadcast.port == 8799
    assert loaded.accounts_file.topstepx is not None
    assert loaded.accounts_file.topstepx.api_url == SIM.url
    assert loaded.global_settings.daily_reset_time == schedule.reset_time
    session_rules = loaded.effective_rules(ids["session"]).session_block_outside
    assert (session_rules.global_session.start, session_rules.global_session.end) == (
        schedule.closed_start, schedule.closed_end)
    others = loaded.effective_rules(ids["max_contracts"]).session_block_outside
    assert (others.global_session.start, others.global_session.end) == (
        schedule.session_start, schedule.session_end)
    assert set(others.allowed_days) == set(ALL_DAYS)


def test_each_scenario_account_overrides_only_what_it_needs(tmp_path: Path) -> None:
    _, ids = write_demo(tmp_path, datetime(2025, 10, 15, 15, 0, tzinfo=UTC))
    loaded = load_config_dir(tmp_path)
    assert not loaded.effective_rules(ids["daily_loss"]).cooldown_after_loss.enabled
    assert loaded.effective_rules(ids["cooldown"]).cooldown_after_loss.enabled
    assert loaded.effective_rules(ids["auto_stop"]).trade_management.enabled
    assert not loaded.effective_rules(ids["max_contracts"]).trade_management.enabled
    assert loaded.effective_rules(ids["symbol_block"]).symbol_blocks.blocked_symbols == ("RTY",)
    assert {a.nickname for a in loaded.accounts} == {
        "Session", "Max contracts", "Cooldown", "Daily loss", "Symbol block", "Auto stop"}


def test_schedule_example() -> None:
    # Wed 2025-10-15 10:02:30 CDT (UTC-5)
    schedule = DemoSchedule.around(datetime(2025, 10, 15, 15, 2, 30, tzinfo=UTC))
    assert schedule == DemoSchedule(session_start="04:02", session_end="16:02", closed_start="07:00",
                                    closed_end="10:00", reset_time="22:02")


def test_yaml_text_round_trips_through_the_config_reader(tmp_path: Path) -> None:
    document = {"version": 1, "global": {"daily_reset_time": "17:00", "holidays": []},
                "limits": {"MNQ": 2}, "loss_limit": Decimal("500.00"), "flag": True, "none": None,
                "tiers": [{"loss_amount": Decimal("100.00"), "cooldown_duration": 300}],
                "symbols": ["RTY", "BTC"], "quote": 'say "hi"'}
    text = yaml_text(document, header="line one\nline two")
    assert text.startswith("# line one\n# line two\nversion: 1\n")
    assert '  daily_reset_time: "17:00"\n' in text
    parsed, problems = read_yaml(text)
    assert problems == []
    assert parsed == {"version": 1, "global": {"daily_reset_time": "17:00", "holidays": []},
                      "limits": {"MNQ": 2}, "loss_limit": 500, "flag": True, "none": None,
                      "tiers": [{"loss_amount": 100, "cooldown_duration": 300}],
                      "symbols": ["RTY", "BTC"], "quote": 'say "hi"'}


def test_yaml_text_refuses_values_without_a_yaml_form() -> None:
    with pytest.raises(TypeError, match="float"):
        yaml_text({"price": 1.5})
