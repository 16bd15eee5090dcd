"""One run of a config's checks for the CLI: real targets, no state table, no alerts."""

from runbook.adapters.aws_clients import probe_client
from runbook.adapters.probes.base import ProbeEnvironment
from runbook.adapters.probes.registry import default_probes
from runbook.models.config import RunbookConfig
from runbook.models.results import CheckResult, Outcome
from runbook.models.secrets import find_secret_refs
from runbook.runtime import secret_resolver
from runbook.services.probe_runner import run_checks


async def run_once(config: RunbookConfig, budget_s: float) -> list[CheckResult]:
    checks = config.enabled_checks()
    refs = [ref for check in checks for ref in find_secret_refs(check)]
    secrets = secret_resolver().resolve_all(refs) if refs else None
    env = ProbeEnvironment(
        settings=config.probe,
        secrets=secrets or _NoSecrets(),
        sqs_client=lambda region: probe_client("sqs", region),
    )
    runs = await run_checks(checks, env, default_probes(), {}, budget_s)
    return [_local(run.result) for run in runs]


def _local(result: CheckResult) -> CheckResult:
    if result.kind == "heartbeat" and result.outcome is Outcome.NEVER_REPORTED:
        reason = "heartbeat reports live in the deployed state table; not checked locally"
        return result.model_copy(update={"outcome": Outcome.SKIPPED, "reason": reason})
    return result


class _NoSecrets:
    def value(self, ref: object) -> str:
        raise KeyError(ref)

    def scrub(self, text: str) -> str:
        return text
