"""What `runbook validate` checks beyond the config's schema: whether the config can work in the
functions the template deploys. What cannot work is an error (validate refuses the config); what
would silently do nothing is a warning (validate passes and says so)."""

from dataclasses import dataclass, field

from runbook.models.config import RunbookConfig
from runbook.services.probe_runner import HARD_TIMEOUT_GRACE, RUN_SETUP_S, longest_check_timeout

HEALTH_PROBE = "HealthProbeFunction"
QUOTA_CHECK = "QuotaCheckFunction"
PAGERDUTY = "PagerDutyEscalationFunction"
STATUSPAGE = "StatuspageUpdateFunction"
# Which function runs which section's checks.
RUNNERS = (("checks", HEALTH_PROBE), ("integrations", QUOTA_CHECK))


@dataclass(frozen=True)
class Finding:
    """`loc`: the field it is about, e.g. ("checks", 3, "timeout"); () for the file as a whole."""

    loc: tuple[int | str, ...]
    message: str


@dataclass(frozen=True)
class Deployment:
    """What the template says about the functions. `timeouts`: each deployed function's Timeout in
    seconds, None where the template does not say it as a number; `unread`: why there is no template."""

    source: str
    timeouts: dict[str, float | None] = field(default_factory=dict)
    unread: str | None = None

    def deploys(self, function: str) -> bool:
        return self.unread is not None or function in self.timeouts  # without a template: the shipped four


def errors(config: RunbookConfig, deployment: Deployment) -> list[Finding]:
    found: list[Finding] = []
    margin = config.probe.deadline_margin
    for section, function in RUNNERS:
        function_timeout = deployment.timeouts.get(function)
        if function_timeout is None:
            continue
        longest = longest_check_timeout(function_timeout, margin)
        checks = config.checks if section == "checks" else config.integrations
        for index, check in enumerate(checks):
            if check.timeout > longest:
                found.append(
                    Finding(
                        (section, index, "timeout"),
                        _too_long(
                            check.timeout, function, longest, function_timeout, margin, deployment.source
                        ),
                    )
                )
    return found


def _too_long(
    timeout: float, function: str, longest: float, function_timeout: float, margin: float, source: str
) -> str:
    fix = f"lower it to {longest:g}s at most" if longest > 0 else "no timeout fits"
    return (
        f"{timeout:g} s does not fit in {function}'s run: its Timeout {function_timeout:g} s ({source}) "
        f"minus probe.deadline_margin {margin:g} s and {RUN_SETUP_S + HARD_TIMEOUT_GRACE:g} s of setup "
        f"leaves {longest:g} s; the function would cut the check short to that (a check its run's deadline "
        f"cuts off is `skipped` and never alerts): {fix}, or raise the function's Timeout"
    )


def warnings(config: RunbookConfig, deployment: Deployment) -> list[Finding]:
    """Printed after validate's OK line; the config is still valid. One place for every warning."""
    found: list[Finding] = []
    if deployment.unread is not None:
        found.append(
            Finding((), f"{deployment.unread}: check timeouts were not compared with the functions' Timeout")
        )
    for section, function in RUNNERS:
        if function in deployment.timeouts and deployment.timeouts[function] is None:
            found.append(
                Finding(
                    (),
                    f"{function}'s Timeout in {deployment.source} is not a number: the "
                    f"timeouts of `{section}` were not compared with it",
                )
            )
    if config.pagerduty is None and deployment.deploys(PAGERDUTY):
        found.append(
            Finding((), f"no `pagerduty:` section: alerts will not page anybody ({PAGERDUTY} does nothing)")
        )
    if config.pagerduty is not None:
        found += [Finding(loc, message) for loc, message in config.pagerduty.warnings()]
    if config.statuspage is None and deployment.deploys(STATUSPAGE):
        found.append(
            Finding(
                (),
                f"no `statuspage:` section: the status page will not be kept, nor #incident-room reminded "
                f"({STATUSPAGE} does nothing)",
            )
        )
    return found
