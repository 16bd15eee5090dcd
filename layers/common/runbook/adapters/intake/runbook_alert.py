"""This project's own message, `runbook.alert/v1`, read back. Pure.

Validated with the `Alert` model; everything (key, source, severity, sev, ...) is kept as published.
Only `observed_at` is normalized: a time without offset is taken as UTC, and any time is given in UTC.
"""

from datetime import UTC
from typing import Any

from pydantic import ValidationError

from runbook.adapters.intake.common import Unreadable, reason, safe_name
from runbook.models.alert import ALERT_SCHEMA, Alert


def is_runbook_alert(payload: dict[str, Any]) -> bool:
    return "schema" in payload


def read_runbook_alert(payload: dict[str, Any]) -> Alert:
    if payload.get("schema") != ALERT_SCHEMA:
        raise Unreadable("schema is another: only this version is supported")
    try:
        alert = Alert.model_validate(payload)
    except ValidationError as exc:
        fields: list[str] = []
        for error in exc.errors(include_url=False, include_input=False, include_context=False):
            # The first part is a field of the model; deeper names are keys of the message's own maps
            # (labels, links, details), which are content: only positions in lists are shown.
            loc = error["loc"]
            deeper = ["…" if isinstance(part, str) else str(part) for part in loc[1:]]
            where = ".".join([safe_name(loc[0]), *deeper]) if loc else "(message)"
            item = f"{where} ({error['type']})"
            if item not in fields:
                fields.append(item)
        raise Unreadable(reason("failed validation: " + ", ".join(fields))) from None
    observed_at = alert.observed_at
    observed_at = (
        observed_at.replace(tzinfo=UTC) if observed_at.tzinfo is None else observed_at.astimezone(UTC)
    )
    return alert.model_copy(update={"observed_at": observed_at})
