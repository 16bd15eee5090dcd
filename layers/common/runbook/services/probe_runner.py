"""Runs every check of a run concurrently: bounded concurrency, a hard timeout per check, the whole
run bounded by the Lambda deadline. One broken or hanging target never delays or breaks the others."""

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runbook.adapters.parameters import SecretUnavailableError
from runbook.adapters.probes.base import ProbeEnvironment
from runbook.models.config import AnyCheck
from runbook.models.observations import Observation
from runbook.models.results import CheckResult, Outcome
from runbook.models.state import CheckState
from runbook.services.conditions import evaluate

# A probe honours check.timeout itself and says which step timed out; this grace is only the backstop
# for one that does not (a DNS lookup stuck in a thread, a library ignoring its own timeout).
HARD_TIMEOUT_GRACE = 1.0
# What a scheduled run does before its probes start (load the states, resolve the secrets).
RUN_SETUP_S = 2.0
SHORTEST_FITTED_TIMEOUT = 0.1


def longest_check_timeout(function_timeout_s: float, deadline_margin_s: float) -> float:
    """The longest check timeout that fits in a function with this Timeout: a check that takes longer is
    cut off by the run's deadline as `skipped`, which never moves its streak and so never alerts."""
    return function_timeout_s - deadline_margin_s - RUN_SETUP_S - HARD_TIMEOUT_GRACE


def fits(check: AnyCheck, budget_s: float) -> bool:
    """Whether the check's own timeout (and its backstop) ends within a run of `budget_s`."""
    return check.timeout + HARD_TIMEOUT_GRACE <= budget_s


@dataclass(frozen=True)
class CheckRun:
    check: AnyCheck
    result: CheckResult
    observation: Observation | None


async def run_checks(
    checks: Sequence[AnyCheck],
    env: ProbeEnvironment,
    probes: Mapping[str, Any],
    states: Mapping[str, CheckState],
    budget_s: float,
) -> list[CheckRun]:
    """Results in the order of `checks`. Checks still running when `budget_s` is spent are SKIPPED.
    A check whose timeout cannot end within `budget_s` runs with the timeout that can, and its result
    says so: cut short it can still fail (and alert) when its target hangs; skipped it never would."""
    semaphore = asyncio.Semaphore(env.settings.max_concurrency)

    async def one(check: AnyCheck) -> CheckRun:
        async with semaphore:
            if fits(check, budget_s):
                return await _run_one(check, env, probes[check.kind], states.get(check.name))
            return await _run_cut_short(check, budget_s, env, probes[check.kind], states.get(check.name))

    tasks = [asyncio.create_task(one(check)) for check in checks]
    try:
        if tasks:
            await asyncio.wait(tasks, timeout=max(budget_s, 0.0))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for probe in {id(p): p for p in probes.values()}.values():
            await probe.close(env)
    return [_collect(task, check, env) for task, check in zip(tasks, checks, strict=True)]


async def _run_one(check: AnyCheck, env: ProbeEnvironment, probe: Any, state: CheckState | None) -> CheckRun:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(check.timeout + HARD_TIMEOUT_GRACE):
            observation: Observation = await probe.observe(check, env)
    except TimeoutError:
        elapsed = time.perf_counter() - started
        return CheckRun(
            check, _failed(check, env, Outcome.TIMEOUT, f"no answer within {elapsed:.1f} s"), None
        )
    except Exception as error:
        outcome = (
            Outcome.SECRET_UNAVAILABLE if isinstance(error, SecretUnavailableError) else Outcome.PROBE_ERROR
        )
        reason = env.secrets.scrub(f"{type(error).__name__}: {error}")[:300]
        return CheckRun(check, _failed(check, env, outcome, reason), None)
    result = evaluate(check, observation, state or CheckState(check=check.name))
    return CheckRun(
        check, result.model_copy(update={"reason": env.secrets.scrub(result.reason)}), observation
    )


async def _run_cut_short(
    check: AnyCheck, budget_s: float, env: ProbeEnvironment, probe: Any, state: CheckState | None
) -> CheckRun:
    timeout = max(budget_s - HARD_TIMEOUT_GRACE, SHORTEST_FITTED_TIMEOUT)
    run = await _run_one(check.model_copy(update={"timeout": timeout}), env, probe, state)
    note = f"its timeout of {check.timeout:g} s was cut to {timeout:.1f} s to fit in the run"
    result = run.result.model_copy(update={"reason": f"{run.result.reason} ({note})".lstrip()})
    return CheckRun(check, result, run.observation)


def _collect(task: "asyncio.Task[CheckRun]", check: AnyCheck, env: ProbeEnvironment) -> CheckRun:
    if task.done() and not task.cancelled() and task.exception() is None:
        return task.result()
    reason = "not run: the run reached its deadline before this check finished"
    return CheckRun(check, _failed(check, env, Outcome.SKIPPED, reason), None)


def _failed(check: AnyCheck, env: ProbeEnvironment, outcome: Outcome, reason: str) -> CheckResult:
    return CheckResult(
        check=check.name, kind=check.kind, ok=False, outcome=outcome, reason=reason, observed_at=env.now()
    )
