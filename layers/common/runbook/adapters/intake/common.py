"""What every intake parser shares: limits, times, severities, keys, links and safe reasons. Pure.

A reason (of `Unreadable`, later of a `Rejected`) names formats, fields and JSON types only, never a
value of the message: a message may carry anything, a secret included, and reasons go to logs.
"""

import hashlib
import re
from datetime import UTC, datetime
from typing import Any

from runbook.models.levels import Sev, Severity
from runbook.text import truncate

MAX_KEY = 200
MAX_SUMMARY = 1024
MAX_REASON = 300
MAX_RECORDS = 1000
MAX_ALERTS = 1000
MAX_URL = 2048

# The incident level a severity opens by default; routing may override it later.
SEV_FOR_SEVERITY: dict[Severity, Sev] = {"critical": "SEV2", "warning": "SEV3", "info": "SEV4"}

_SAFE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:$-]{0,39}$")


class Unreadable(Exception):
    """A message, or one alert of a group, that cannot be read. `reason` is safe to log (see above)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def reason(text: str) -> str:
    return truncate(text, MAX_REASON)


def safe_name(name: object) -> str:
    """A field name as it may appear in a reason: names that look like identifiers, else "…"."""
    if isinstance(name, int) and not isinstance(name, bool):
        return str(name)
    return name if isinstance(name, str) and _SAFE_NAME.match(name) else "…"


def json_type(value: object) -> str:
    """The JSON name of a decoded value's type, for reasons ("a JSON array, expected an object")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def digest(*parts: str) -> str:
    """sha256 (hex) of the parts, each ended by a NUL so that ("ab", "c") and ("a", "bc") differ."""
    hashed = hashlib.sha256()
    for part in parts:
        hashed.update(part.encode("utf-8", "surrogatepass"))
        hashed.update(b"\0")
    return hashed.hexdigest()


def bounded_key(key: str) -> str:
    """`key` itself when it fits the alert's 200 characters, else its head and a hash of the whole."""
    if len(key) <= MAX_KEY:
        return key
    return f"{key[: MAX_KEY - 17]}~{digest(key)[:16]}"


def one_line(text: str) -> str:
    """Runs of whitespace (newlines included) as one space: a summary is one line for a person on call."""
    return " ".join(text.split())


def summary_line(text: str) -> str:
    return truncate(one_line(text), MAX_SUMMARY)


def text_or_none(value: object) -> str | None:
    """A non-empty string, stripped; anything else is None."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def parse_time(value: object, field: str) -> datetime:
    """An ISO 8601 / RFC 3339 time as an aware UTC datetime (a time without offset is taken as UTC).

    Accepts what the producers send: "2015-06-03T17:43:27.123+0000" (CloudWatch),
    "2019-10-02T17:04:40Z" (EventBridge), Go's RFC 3339 with nanoseconds (Alertmanager)."""
    if not isinstance(value, str) or not value.strip():
        raise Unreadable(f"{field} is missing or not a string")
    try:
        parsed = datetime.fromisoformat(value.strip())
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise Unreadable(f"{field} is not an ISO 8601 time") from None


def optional_time(value: object, field: str) -> datetime | None:
    """Like `parse_time`, but absent, empty and Go's zero time ("0001-01-01T00:00:00Z") are None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    parsed = parse_time(value, field)
    return None if parsed.year <= 1 else parsed


_SEVERITY_WORDS: dict[str, Severity] = {
    "critical": "critical",
    "crit": "critical",
    "page": "critical",
    "error": "critical",
    "high": "critical",
    "fatal": "critical",
    "warning": "warning",
    "warn": "warning",
    "medium": "warning",
    "info": "info",
    "informational": "info",
    "information": "info",
    "low": "info",
    "none": "info",
}
DEFAULT_SEVERITY: Severity = "warning"


def severity_from_label(value: object) -> Severity:
    """A `severity` label as one of ours: critical (also page, error, high, crit, fatal), warning (also
    warn, medium), info (also informational, low, none); case and spaces ignored; anything else or no
    label is "warning"."""
    if not isinstance(value, str):
        return DEFAULT_SEVERITY
    return _SEVERITY_WORDS.get(value.strip().lower(), DEFAULT_SEVERITY)


def http_url(value: object) -> str | None:
    """`value` when it is an http(s) URL fit for a link (no spaces, at most 2048 characters), else None."""
    text = text_or_none(value)
    if text is None or len(text) > MAX_URL or any(c.isspace() for c in text):
        return None
    return text if text.lower().startswith(("https://", "http://")) else None


def string_map(value: object, field: str) -> dict[str, str]:
    """A JSON object of strings (labels, annotations). Absent or null is empty; other values that are not
    strings (numbers, booleans from a hand-written template) become strings, nulls are left out."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Unreadable(f"{field} is a JSON {json_type(value)}, expected an object")
    out: dict[str, str] = {}
    for name, item in value.items():
        if item is None:
            continue
        if isinstance(item, dict | list):
            raise Unreadable(f"{field} has a value that is a JSON {json_type(item)}, expected strings")
        out[str(name)] = _as_text(item)
    return out


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"  # as JSON writes it
    return value if isinstance(value, str) else str(value)


def without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}
