"""One run of a config's checks for the CLI: real targets, no state table, no alerts."""

from runbook.adapters.aws_clients import probe_client
from runbook.adapters.parameters import ResolvedSecrets
from runbook.adapters.probes.base import ProbeEnvironment, utc_now
from runbook.adapters.probes.registry import default_probes
from runbook.models.config import AnyCheck, RunbookConfig
from runbook.models.results import CheckResult, Outcome
from runbook.models.secrets import find_secret_refs
from runbook.runtime import secret_resolver
from runbook.services.probe_runner import run_checks

NOT_LOCAL = "heartbeat reports live in the deployed state table; not checked locally"


async def run_once(config: RunbookConfig, budget_s: float) -> list[CheckResult]:
    """Health checks and integrations alike; without stored samples there is no quota forecast here."""
    checks: list[AnyCheck] = [*config.enabled_checks(), *config.enabled_integrations()]
    probed = [check for check in checks if check.kind != "heartbeat"]
    refs = [ref for check in probed for ref in find_secret_refs(check)]
    env = ProbeEnvironment(
        settings=config.probe,
        # No AWS client (nor region) is needed when the config references no secret.
        secrets=secret_resolver().resolve_all(refs) if refs else ResolvedSecrets(),
        sqs_client=lambda region: probe_client("sqs", region),
    )
    results = {
        run.check.name: run.result for run in await run_checks(probed, env, default_probes(), {}, budget_s)
    }
    return [results.get(check.name) or _not_local(check) for check in checks]


def _not_local(check: AnyCheck) -> CheckResult:
    return CheckResult(
        check=check.name,
        kind=check.kind,
        ok=False,
        outcome=Outcome.SKIPPED,
        reason=NOT_LOCAL,
        observed_at=utc_now(),
    )
