"""A quota read from the configured paths of a JSON body."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from runbook.adapters.probes.quota_fields import read_quota_fields
from runbook.models.config import QuotaFields
from runbook.models.quota import QuotaFormatError

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
NOW_EPOCH = 1795780800  # NOW in epoch seconds
IN_30_MIN = NOW + timedelta(minutes=30)


def fields(**paths: Any) -> QuotaFields:
    return QuotaFields.model_validate(paths)


@pytest.mark.parametrize(
    ("body", "paths", "percent"),
    [
        ({"quota": {"used": 750, "limit": 1000}}, {"used": "quota.used", "limit": "quota.limit"}, 75.0),
        (
            {"limits": [{"remaining": 10, "max": 40}, {"remaining": 0, "max": 5}]},
            {"remaining": "limits[0].remaining", "limit": "limits[0].max"},
            75.0,
        ),
        (
            {"windows": [[1, 2], [{"used": 3, "of": 4}]]},
            {"used": "windows[1][0].used", "limit": "windows[1][0].of"},
            75.0,
        ),
        ({"usage": {"used": "42", "limit": " 100 "}}, {"used": "usage.used", "limit": "usage.limit"}, 42.0),
        ({"usage": {"used": "4.2e1", "limit": 100.0}}, {"used": "usage.used", "limit": "usage.limit"}, 42.0),
        ({"account": {"usage_percent": 63.5}}, {"percent": "account.usage_percent"}, 63.5),
        (
            {"credits-left": 250, "credits_total": 1000},
            {"remaining": "credits-left", "limit": "credits_total"},
            75.0,
        ),
        ({"calls_today": 900}, {"used": "calls_today", "limit_value": 1000}, 90.0),
        (
            {"calls_today": 900, "max": 2000},
            {"used": "calls_today", "limit": "max", "limit_value": 1000},
            45.0,
        ),
    ],
    ids=[
        "nested",
        "indexed",
        "nested indexes",
        "string numbers",
        "exponent",
        "percent only",
        "remaining and limit",
        "limit_value",
        "limit path wins",
    ],
)
def test_configured_paths_make_a_reading(body, paths, percent):
    reading = read_quota_fields(body, fields(**paths), NOW)
    assert (reading.percent, reading.source, reading.reset_at) == (percent, "body", None)


def test_counts_are_completed_and_the_source_kept():
    reading = read_quota_fields(
        {"data": {"remaining": 25, "limit": 100}},
        fields(remaining="data.remaining", limit="data.limit"),
        NOW,
        source="usage endpoint",
    )
    assert (reading.used, reading.limit, reading.remaining, reading.source) == (75, 100, 25, "usage endpoint")


@pytest.mark.parametrize(
    ("reset", "expected"),
    [
        (NOW_EPOCH + 1800, IN_30_MIN),
        ((NOW_EPOCH + 1800) * 1000, IN_30_MIN),
        ("2026-11-27T12:30:00Z", IN_30_MIN),
        (1800, IN_30_MIN),
        ("1800", IN_30_MIN),
        (None, None),
    ],
    ids=["epoch s", "epoch ms", "iso 8601", "seconds", "seconds as text", "null"],
)
def test_reset_forms(reset, expected):
    body = {"quota": {"used": 1, "limit": 4, "resets_at": reset}}
    paths = fields(used="quota.used", limit="quota.limit", reset="quota.resets_at")
    assert read_quota_fields(body, paths, NOW).reset_at == expected


@pytest.mark.parametrize(
    ("body", "paths", "expected"),
    [
        (None, {"percent": "pct"}, "the answer is not JSON"),
        (
            {"quota": {"limit": 10}},
            {"used": "quota.used", "limit": "quota.limit"},
            "the body has no `quota.used`",
        ),
        ({"quota": [1]}, {"used": "quota.used", "limit_value": 10}, "the body has no `quota.used`"),
        (
            {"limits": [{"used": 1}]},
            {"used": "limits[1].used", "limit_value": 10},
            "the body has no `limits[1].used`",
        ),
        (
            {"limits": {"0": {"used": 1}}},
            {"used": "limits[0].used", "limit_value": 10},
            "the body has no `limits[0]",
        ),
        ("rate limited", {"percent": "pct"}, "the body has no `pct`"),
        (
            {"quota": {"used": "abc"}},
            {"used": "quota.used", "limit_value": 10},
            "`quota.used` is 'abc', not a number",
        ),
        ({"pct": True}, {"percent": "pct"}, "`pct` is true, not a number"),
        ({"pct": None}, {"percent": "pct"}, "`pct` is null, not a number"),
        ({"pct": {"value": 12}}, {"percent": "pct"}, '`pct` is {"value": 12}, not a number'),
        (
            {"pct": "percent: " + "9" * 60},
            {"percent": "pct"},
            "`pct` is 'percent: " + "9" * 30 + "…', not a number",
        ),
        (
            {"pct": 5, "reset": "soon"},
            {"percent": "pct", "reset": "reset"},
            "`reset`: 'soon' is not a reset time",
        ),
        (
            {"pct": 5, "reset": False},
            {"percent": "pct", "reset": "reset"},
            "`reset` is false, not a reset time",
        ),
        ({"pct": 5}, {"percent": "pct", "reset": "meta.reset"}, "the body has no `meta.reset`"),
        (
            {"used": -3},
            {"used": "used", "limit_value": 10},
            "body: used is -3; a quota count cannot be negative",
        ),
    ],
    ids=[
        "not json",
        "missing key",
        "key on a list",
        "index out of range",
        "index on an object",
        "body is a string",
        "not a number",
        "boolean",
        "null",
        "object",
        "long value cut",
        "unreadable reset",
        "boolean reset",
        "missing reset",
        "negative",
    ],
)
def test_unusable_bodies_say_which_path_and_why(body, paths, expected):
    with pytest.raises(QuotaFormatError, match="^" + re.escape(expected)):
        read_quota_fields(body, fields(**paths), NOW)
