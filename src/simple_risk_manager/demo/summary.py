"""The demo's final summary: one row per scenario (PASS, FAIL or SKIPPED) and the enforcement tally.

    Summary: 7 of 7 scenarios passed in 31.4 s; 11 enforcement actions, all SUCCESS
      PASS     RULE-001 max contracts        8001 Max contracts  RULE-001 CLOSE_ALL_POSITIONS - ...
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from simple_risk_manager.broadcast.frames import Message
from simple_risk_manager.demo.script import Scenario, ScenarioResult

_TITLE_WIDTH = 30


def _headline(result: ScenarioResult, describe: Callable[[Message], str | None]) -> str:
    if result.error is not None:
        return f"trader's call failed: {result.error}"
    if result.missing is not None:
        return f"not seen: {result.missing}"
    failed = [a for a in result.actions if a.data.get("outcome") != "SUCCESS"]
    shown = failed[0] if failed else next(
        (m for m in result.seen if m.type == "enforcement_action"), result.seen[-1] if result.seen else None)
    return "" if shown is None else describe(shown) or ""


def summary_lines(planned: Sequence[Scenario], results: Sequence[ScenarioResult], actions: Sequence[Message],
                  *, elapsed_s: float, account_label: Callable[[int], str],
                  describe: Callable[[Message], str | None], stopped: str | None = None) -> list[str]:
    """`actions`: every `enforcement_action` of the run; `stopped`: why the run ended early, if it did."""
    passed = sum(result.passed for result in results)
    outcomes = Counter(str(a.data.get("outcome")) for a in actions)
    tally = (f"all {outcomes['SUCCESS']} SUCCESS" if outcomes and set(outcomes) == {"SUCCESS"}
             else ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items())) or "none")
    lines = [f"Summary: {passed} of {len(planned)} scenarios passed in {elapsed_s:.1f} s; "
             f"{len(actions)} enforcement actions ({tally})"]
    if stopped is not None:
        lines.append(f"  stopped early: {stopped}")
    done = {id(result.scenario): result for result in results}
    for scenario in planned:
        result = done.get(id(scenario))
        verdict = "SKIPPED" if result is None else ("PASS" if result.passed else "FAIL")
        title = f"{scenario.rule_id} {scenario.title}".ljust(_TITLE_WIDTH)
        detail = "not run" if result is None else _headline(result, describe)
        lines.append(f"  {verdict:<8} {title} {account_label(scenario.account_id)}  {detail}".rstrip())
    return lines


def demo_passed(planned: Sequence[Scenario], results: Sequence[ScenarioResult], actions: Sequence[Message],
                stopped: str | None) -> bool:
    """Every scenario that ran passed and no enforcement failed; all of them ran unless stopped early."""
    complete = stopped is not None or len(results) == len(planned)
    return complete and all(r.passed for r in results) and all(
        a.data.get("outcome") == "SUCCESS" for a in actions)
