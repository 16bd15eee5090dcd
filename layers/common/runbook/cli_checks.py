"""One run of a config's checks for the CLI: real targets, no state table, no alerts."""

from dataclasses import dataclass

from runbook.adapters.aws_clients import AwsSetupProblem, aws_setup_problem, probe_client
from runbook.adapters.parameters import ResolvedSecrets
from runbook.adapters.probes.base import ProbeEnvironment, utc_now
from runbook.adapters.probes.registry import default_probes
from runbook.models.config import AnyCheck, RunbookConfig
from runbook.models.results import CheckResult, Outcome
from runbook.models.secrets import SecretRef, find_secret_refs
from runbook.roots.shared import secret_resolver
from runbook.services.probe_runner import run_checks

NOT_LOCAL = "heartbeat reports live in the deployed state table; not checked locally"


@dataclass(frozen=True)
class LocalRun:
    results: list[CheckResult]
    # Why the checks that read secrets or SQS could not be judged from here (no AWS region or
    # credentials); None when they could.
    aws_problem: AwsSetupProblem | None = None


async def run_once(config: RunbookConfig, budget_s: float) -> LocalRun:
    """Health checks and integrations alike; without stored samples there is no quota forecast here."""
    checks: list[AnyCheck] = [*config.enabled_checks(), *config.enabled_integrations()]
    probed = [check for check in checks if check.kind != "heartbeat"]
    refs = [ref for check in probed for ref in find_secret_refs(check)]
    uses_sqs = any(getattr(check, "backend", None) == "sqs" for check in probed)
    # No AWS client (nor region) is needed when the config references no secret and no SQS queue.
    aws_problem = aws_setup_problem() if refs or uses_sqs else None
    env = ProbeEnvironment(
        settings=config.probe,
        secrets=_secrets(refs, aws_problem),
        sqs_client=lambda region: probe_client("sqs", region),
    )
    results = {
        run.check.name: run.result for run in await run_checks(probed, env, default_probes(), {}, budget_s)
    }
    return LocalRun([results.get(check.name) or _not_local(check) for check in checks], aws_problem)


def _secrets(refs: list[SecretRef], aws_problem: AwsSetupProblem | None) -> ResolvedSecrets:
    if not refs:
        return ResolvedSecrets()
    if aws_problem is not None:  # each check that needs one says which and why: secret_unavailable
        return ResolvedSecrets(
            errors={ref: f"cannot read {ref.describe()}: {aws_problem.what}" for ref in refs}
        )
    return secret_resolver().resolve_all(refs)


def _not_local(check: AnyCheck) -> CheckResult:
    return CheckResult(
        check=check.name,
        kind=check.kind,
        ok=False,
        outcome=Outcome.SKIPPED,
        reason=NOT_LOCAL,
        observed_at=utc_now(),
    )
