"""A function whose section of the config is absent has nothing to do: it says why once per cold start
and succeeds. Failing instead would push every alert and every minute's schedule through Lambda's
retries into the dead-letter queue, for a choice the config made (`runbook validate` warns about it)."""

from collections.abc import Callable

from pydantic import BaseModel

NO_PAGERDUTY = (
    "the runbook config has no `pagerduty:` section: alerts page nobody and no incident is escalated; "
    "add the section (README: Paging and escalation) to page on-call"
)
NO_STATUSPAGE = (
    "the runbook config has no `statuspage:` section: the status page is not kept and #incident-room "
    "is not reminded; add the section (README: Status page and incident room) to keep them"
)

# Told why the function does nothing; in Lambda it logs the first time of each cold start.
IdleNotice = Callable[[str], None]


class Idle(BaseModel):
    idle: str  # why the function did nothing with this event


def stay_idle(reason: str, notice: IdleNotice) -> Idle:
    notice(reason)
    return Idle(idle=reason)
