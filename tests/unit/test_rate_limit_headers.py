"""Rate-limit headers as the vendors document them, read into one quota: the most used limit."""

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from runbook.adapters.probes.rate_limits import parse_reset, parse_retry_after, read_rate_limit_headers
from runbook.models.quota import QuotaFormatError

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
NOW_EPOCH = 1795780800  # NOW in epoch seconds
IN_30_MIN = NOW + timedelta(minutes=30)


def test_github_reports_used_and_an_epoch_reset():
    reading = read_rate_limit_headers(
        {
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": "4000",
            "x-ratelimit-used": "1000",
            "x-ratelimit-reset": str(NOW_EPOCH + 1800),
            "x-ratelimit-resource": "core",
        },
        NOW,
    )
    assert reading is not None
    assert (reading.percent, reading.used, reading.limit, reading.remaining) == (20.0, 1000, 5000, 4000)
    assert (reading.reset_at, reading.name, reading.source) == (IN_30_MIN, None, "X-RateLimit-* headers")


def test_twitter_x_uses_the_rate_limit_spelling():
    reading = read_rate_limit_headers(
        {
            "x-rate-limit-limit": "900",
            "x-rate-limit-remaining": "855",
            "x-rate-limit-reset": str(NOW_EPOCH + 1800),
        },
        NOW,
    )
    assert reading is not None
    assert (reading.percent, reading.reset_at, reading.source) == (5.0, IN_30_MIN, "X-Rate-Limit-* headers")


@pytest.mark.parametrize(
    ("resets", "reset_at"),
    [
        ({"X-RateLimit-Reset": f"{NOW_EPOCH + 1}.250", "X-RateLimit-Reset-After": "1.25"}, 1.25),
        ({"X-RateLimit-Reset-After": "64.57"}, 64.57),
    ],
)
def test_discord_float_resets_and_non_count_headers(resets, reset_at):
    headers = {
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": "1",
        "X-RateLimit-Bucket": "abcd1234",
        "X-RateLimit-Scope": "user",
        "X-RateLimit-Global": "false",
    }
    reading = read_rate_limit_headers(headers | resets, NOW)
    assert reading is not None
    assert (reading.percent, reading.name) == (80.0, None)
    assert reading.reset_at == NOW + timedelta(seconds=reset_at)


@pytest.mark.parametrize(
    ("remaining_requests", "remaining_tokens", "name", "percent", "reset_in"),
    [
        ("15", "149984", "requests", 75.0, timedelta(seconds=1)),
        ("59", "15000", "tokens", 90.0, timedelta(minutes=6)),
    ],
)
def test_openai_requests_and_tokens_most_used_wins(
    remaining_requests, remaining_tokens, name, percent, reset_in
):
    reading = read_rate_limit_headers(
        {
            "x-ratelimit-limit-requests": "60",
            "x-ratelimit-limit-tokens": "150000",
            "x-ratelimit-remaining-requests": remaining_requests,
            "x-ratelimit-remaining-tokens": remaining_tokens,
            "x-ratelimit-reset-requests": "1s",
            "x-ratelimit-reset-tokens": "6m0s",
        },
        NOW,
    )
    assert reading is not None
    assert (reading.name, reading.percent, reading.reset_at) == (name, percent, NOW + reset_in)


def test_kong_windows_named_by_suffix_and_the_repeated_limit_lends_its_reset():
    reading = read_rate_limit_headers(
        {
            "X-RateLimit-Limit-Minute": "10",
            "X-RateLimit-Remaining-Minute": "9",
            "X-RateLimit-Limit-Hour": "100",
            "X-RateLimit-Remaining-Hour": "20",
            "RateLimit-Limit": "100",
            "RateLimit-Remaining": "20",
            "RateLimit-Reset": "1800",
        },
        NOW,
    )
    assert reading is not None
    assert (reading.name, reading.percent, reading.source) == ("hour", 80.0, "X-RateLimit-* headers")
    assert reading.reset_at == IN_30_MIN


@pytest.mark.parametrize(
    "limit", ["100", "100, 100;w=60", "100;w=60, 1000;w=3600"], ids=["plain", "draft-03 list", "items"]
)
def test_ietf_draft_06_fields_delta_reset_and_first_listed_limit(limit):
    reading = read_rate_limit_headers(
        {
            "RateLimit-Limit": limit,
            "RateLimit-Remaining": "25",
            "RateLimit-Reset": "1800",
            "RateLimit-Policy": "100;w=60",
        },
        NOW,
    )
    assert reading is not None
    assert (reading.percent, reading.limit, reading.reset_at) == (75.0, 100, IN_30_MIN)
    assert reading.source == "RateLimit-* headers (IETF draft)"


def test_ietf_draft_08_policies_matched_by_name():
    reading = read_rate_limit_headers(
        {
            "RateLimit-Policy": '"burst";q=100;w=60,"daily";q=1000;w=86400',
            "RateLimit": '"burst";r=80;t=30, "daily";r=100;t=1800',
        },
        NOW,
    )
    assert reading is not None
    assert (reading.name, reading.percent, reading.limit, reading.remaining) == ("daily", 90.0, 1000, 100)
    assert (reading.reset_at, reading.source) == (IN_30_MIN, "RateLimit headers (IETF)")


def test_ietf_draft_07_dictionary_with_the_limit_in_the_policy():
    with_limit = read_rate_limit_headers(
        {"RateLimit": "limit=100, remaining=50, reset=1800", "RateLimit-Policy": "100;w=60"}, NOW
    )
    policy_only = read_rate_limit_headers({"RateLimit": "remaining=50", "RateLimit-Policy": "100;w=60"}, NOW)
    assert with_limit is not None
    assert policy_only is not None
    assert (with_limit.percent, with_limit.reset_at) == (50.0, IN_30_MIN)
    assert (policy_only.percent, policy_only.limit, policy_only.reset_at) == (50.0, 100, None)


def test_shopify_used_over_limit():
    reading = read_rate_limit_headers({"X-Shopify-Shop-Api-Call-Limit": "32/40"}, NOW)
    assert reading is not None
    assert (reading.percent, reading.used, reading.remaining) == (80.0, 32, 8)
    assert reading.source == "X-Shopify-Shop-Api-Call-Limit"


@pytest.mark.parametrize(
    ("value", "name", "percent"),
    [
        ("api-usage=18/5000", "api-usage", 0.36),
        (
            "api-usage=25/5000; per-app-api-usage=17/250(appName=sample-connected-app)",
            "per-app-api-usage",
            6.8,
        ),
    ],
)
def test_salesforce_limit_info(value, name, percent):
    reading = read_rate_limit_headers({"Sforce-Limit-Info": value}, NOW)
    assert reading is not None
    assert (reading.name, reading.percent, reading.source) == (name, percent, "Sforce-Limit-Info")


def test_header_names_in_any_case_and_an_httpx_headers_mapping():
    mixed = {"X-RATELIMIT-LIMIT": "60", "x-RateLimit-remaining": "15", "X-Ratelimit-Reset": "1800"}
    for headers in (mixed, httpx.Headers(mixed)):
        reading = read_rate_limit_headers(headers, NOW)
        assert reading is not None
        assert (reading.percent, reading.reset_at) == (75.0, IN_30_MIN)


def test_most_used_wins_across_families():
    reading = read_rate_limit_headers(
        {
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": "4990",
            "X-Shopify-Shop-Api-Call-Limit": "39/40",
        },
        NOW,
    )
    assert reading is not None
    assert (reading.source, reading.percent) == ("X-Shopify-Shop-Api-Call-Limit", 97.5)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Content-Type": "application/json", "Retry-After": "30"},
        {"X-RateLimit-Bucket": "abcd1234", "X-RateLimit-Resource": "core"},
        {"X-RateLimit-Reset": str(NOW_EPOCH)},
        {"RateLimit-Policy": '"default";q=100;w=60'},
    ],
    ids=["none", "unrelated", "no counts", "lone reset", "policy advertised alone"],
)
def test_no_rate_limit_counts_is_none(headers):
    assert read_rate_limit_headers(headers, NOW) is None


def test_an_unreadable_reset_keeps_the_counts():
    headers = {"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "30", "X-RateLimit-Reset": "soon"}
    reading = read_rate_limit_headers(headers, NOW)
    assert reading is not None
    assert (reading.percent, reading.reset_at) == (50.0, None)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "abc"},
            "X-RateLimit-Remaining is 'abc'; expected",
        ),
        ({"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "-1"}, "X-RateLimit-Remaining is '-1'"),
        ({"x-rate-limit-limit": "lots", "x-rate-limit-remaining": "1"}, "x-rate-limit-limit is 'lots'"),
        ({"X-RateLimit-Remaining": "10"}, "X-RateLimit-Remaining is '10' but x-ratelimit-limit is missing"),
        ({"RateLimit-Limit": "10"}, "RateLimit-Limit is '10' but ratelimit-remaining is missing"),
        ({"X-RateLimit-Limit": "0", "X-RateLimit-Remaining": "0"}, "X-RateLimit-* headers: the limit is 0"),
        (
            {
                "x-ratelimit-limit-requests": "60",
                "x-ratelimit-remaining-requests": "59",
                "x-ratelimit-limit-tokens": "150000",
                "x-ratelimit-remaining-tokens": "n/a",
            },
            "x-ratelimit-remaining-tokens is 'n/a'",
        ),
        (
            {"X-Shopify-Shop-Api-Call-Limit": "32 of 40"},
            "X-Shopify-Shop-Api-Call-Limit is '32 of 40'; expected",
        ),
        ({"Sforce-Limit-Info": "api-usage=lots"}, "Sforce-Limit-Info is 'api-usage=lots'; expected"),
        ({"RateLimit": '"burst";r=80;t=30'}, "RateLimit is '\"burst\";r=80;t=30' but no RateLimit-Policy"),
        (
            {"RateLimit": '"burst";t=30', "RateLimit-Policy": '"burst";q=100'},
            "RateLimit is '\"burst\";t=30'; expected r=",
        ),
        (
            {"RateLimit": '"burst";r=8', "RateLimit-Policy": '"burst";q=x'},
            "RateLimit-Policy is '\"burst\";q=x'",
        ),
    ],
    ids=[
        "not a number",
        "negative",
        "bad limit",
        "remaining without limit",
        "limit without remaining",
        "zero limit",
        "one bad group fails the answer",
        "shopify",
        "salesforce",
        "no matching policy",
        "no remaining",
        "bad quota",
    ],
)
def test_unusable_headers_name_the_header_and_value(headers, expected):
    with pytest.raises(QuotaFormatError, match="^" + re.escape(expected)):
        read_rate_limit_headers(headers, NOW)


def test_a_long_bad_value_is_cut_short():
    with pytest.raises(QuotaFormatError) as caught:
        read_rate_limit_headers({"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "x" * 500}, NOW)
    assert str(caught.value).startswith("X-RateLimit-Remaining is '" + "x" * 39 + "…'; expected")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1800", IN_30_MIN),
        (1800, IN_30_MIN),
        ("0.5", NOW + timedelta(milliseconds=500)),
        (str(NOW_EPOCH + 1800), IN_30_MIN),
        (NOW_EPOCH + 1800.5, IN_30_MIN + timedelta(milliseconds=500)),
        (f"{NOW_EPOCH + 1800}000", IN_30_MIN),
        ((NOW_EPOCH + 1800) * 1000 + 250, IN_30_MIN + timedelta(milliseconds=250)),
        ("Fri, 27 Nov 2026 12:30:00 GMT", IN_30_MIN),
        ("2026-11-27T12:30:00Z", IN_30_MIN),
        ("2026-11-27T13:30:00+01:00", IN_30_MIN),
        ("2026-11-27T12:30:00", IN_30_MIN),
        ("1s", NOW + timedelta(seconds=1)),
        ("20ms", NOW + timedelta(milliseconds=20)),
        ("6m0s", NOW + timedelta(minutes=6)),
        ("1h30m0s", NOW + timedelta(hours=1, minutes=30)),
        ("0.5h", IN_30_MIN),
        ("1m30.5s", NOW + timedelta(seconds=90.5)),
        ("250\u00b5s", NOW + timedelta(microseconds=250)),
    ],
)
def test_parse_reset_forms(value, expected):
    assert parse_reset(value, NOW) == expected


@pytest.mark.parametrize("value", ["soon", "", "-5", "1h30", "NaN", float("inf"), True, "Fri, 99 Nov 2026"])
def test_parse_reset_rejects_what_is_not_a_time(value):
    with pytest.raises(QuotaFormatError, match="is not a reset time; expected"):
        parse_reset(value, NOW)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("1.5", 1.5),
        ("Fri, 27 Nov 2026 12:01:30 GMT", 90.0),
        ("Fri, 27 Nov 2026 11:00:00 GMT", 0.0),  # already past: retry now, not in -3600 s
    ],
)
def test_retry_after_delay_or_http_date(value, seconds):
    assert parse_retry_after(value, NOW) == seconds


@pytest.mark.parametrize("value", ["soon", "", "-5", "12 seconds", "1e3", "Fri, 99 Nov 2026 12:00:00 GMT"])
def test_retry_after_garbage_is_none(value):
    assert parse_retry_after(value, NOW) is None
