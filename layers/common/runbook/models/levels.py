"""How loud a problem is: alert severity and incident SEV, as the runbook names them."""

from typing import Literal

Severity = Literal["info", "warning", "critical"]
Sev = Literal["SEV1", "SEV2", "SEV3", "SEV4"]
SEVERITY_RANK: dict[Severity, int] = {"info": 1, "warning": 2, "critical": 3}
