"""Fixtures shared by every test layer. Service fixtures live in tests/support and are registered here."""

import os

# What the template's Globals give every function; Powertools reads them when runbook.observability is
# first imported, so they are set before any test module imports it.
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "runbook-automation")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "RunbookAutomation")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

pytest_plugins: list[str] = [
    "tests.support.clock_shift",
    "tests.support.aws",
    "tests.support.http_fixtures",
    "tests.support.service_fixtures",
    "tests.support.standin_fixtures",
    "tests.support.pagerduty_function",
]
