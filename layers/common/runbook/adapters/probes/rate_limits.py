"""An HTTP answer's rate-limit headers read as a quota: the X-RateLimit-* families, the IETF RateLimit
drafts and vendors' used/limit pairs. Pure functions: the probe passes the headers and the time."""

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from runbook.models.quota import QuotaFormatError, QuotaReading, quota_reading
from runbook.text import truncate

SHOWN_VALUE_CHARS = 40  # enough of a bad value to recognise it, not a wall of text in an alert
_EPOCH_MS_ABOVE = 1e12  # 2001-09-09 in milliseconds; no window lasts that many seconds
_EPOCH_S_ABOVE = 1e9  # 2001-09-09 in seconds; no window lasts 31 years

_COUNT = re.compile(r"\d+(?:\.\d+)?")
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")
# Go's time.Duration text: "1s", "6m0s", "20ms", "1h30m0s". Micro as "us", the micro sign or the Greek mu.
_GO_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "\u00b5s": 1e-6,
    "\u03bcs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_GO_PART = re.compile(
    r"(\d+(?:\.\d*)?|\.\d+)(" + "|".join(sorted(_GO_UNIT_SECONDS, key=len, reverse=True)) + ")"
)
_GO_DURATION = re.compile(f"(?:{_GO_PART.pattern})+")

# X-RateLimit-Limit, X-Rate-Limit-Remaining, RateLimit-Reset; grouped by suffix: x-ratelimit-limit-tokens,
# X-RateLimit-Limit-Minute. "reset-after" is tried before "reset" so Discord's X-RateLimit-Reset-After
# is not a group named "after".
_GROUP_HEADER = re.compile(
    r"(x-ratelimit|x-rate-limit|ratelimit)-(limit|remaining|used|reset-after|reset)(?:-([a-z0-9][a-z0-9-]*))?"
)
_GROUP_SOURCES = {
    "x-ratelimit": "X-RateLimit-* headers",
    "x-rate-limit": "X-Rate-Limit-* headers",
    "ratelimit": "RateLimit-* headers (IETF draft)",
}
_IETF_SOURCE = "RateLimit headers (IETF)"
_SHOPIFY = "x-shopify-shop-api-call-limit"
_SALESFORCE = "sforce-limit-info"
_PAIR = re.compile(r"\s*(\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)\s*")
# api-usage=18/5000, or per-app-api-usage=17/250(appName=sample-connected-app)
_NAMED_PAIR = re.compile(
    r"\s*([A-Za-z0-9_-]+)\s*=\s*(\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)\s*(?:\([^)]*\))?\s*"
)


@dataclass(frozen=True)
class _Header:
    name: str  # as the API spelled it, for messages
    value: str


@dataclass
class _Group:
    """The headers of one limit of an X-RateLimit-* style family."""

    prefix: str
    suffix: str | None
    counts: dict[str, _Header] = field(default_factory=dict)  # limit, remaining, used
    resets: dict[str, _Header] = field(default_factory=dict)  # reset, reset-after

    def expected(self, part: str) -> str:
        return f"{self.prefix}-{part}" + (f"-{self.suffix}" if self.suffix else "")


def read_rate_limit_headers(headers: Mapping[str, str], now: datetime) -> QuotaReading | None:
    """The most used limit the headers report, or None when they carry no rate-limit counts.

    Raises QuotaFormatError when a family's headers are there but unusable. One bad family fails the
    whole answer: the limit that cannot be read may be the one running out, so a "most used" picked
    from the others would be a guess. Headers with no count of their own (a lone X-RateLimit-Reset, a
    RateLimit-Policy advertised without RateLimit) make no reading and no error."""
    by_name = {name.lower(): _Header(name, value) for name, value in headers.items()}
    readings = [*_ietf_structured(by_name, now), *_groups(by_name, now), *_pairs(by_name)]
    return _most_used(readings) if readings else None


def _most_used(readings: list[QuotaReading]) -> QuotaReading:
    """The highest percent; on a tie, the reading that names its limit."""
    best = max(readings, key=lambda r: (r.percent, r.name is not None))
    # Kong repeats its closest limit as RateLimit-* (with a reset) next to X-RateLimit-*-Minute (with a
    # name): the same limit twice, so the reading keeps what each copy adds.
    if best.reset_at is None:
        same = [
            r
            for r in readings
            if (r.percent, r.limit, r.remaining) == (best.percent, best.limit, best.remaining)
        ]
        reset_at = next((r.reset_at for r in same if r.reset_at is not None), None)
        best = best.model_copy(update={"reset_at": reset_at})
    return best


def parse_reset(value: str | int | float, now: datetime) -> datetime:
    """When a quota window starts again, in any form APIs use: a number above 1e12 is epoch
    milliseconds, above 1e9 epoch seconds, else seconds from `now`; or an HTTP-date, an ISO 8601
    timestamp, a Go-style duration ("6m0s", "20ms"). Raises QuotaFormatError when unreadable."""
    if isinstance(value, bool):  # JSON true/false: a bool is an int to Python, not a time to anyone
        raise _unreadable_reset(str(value).lower())
    if isinstance(value, int | float):
        return _reset_from_number(float(value), now, str(value))
    text = value.strip()
    if _NUMBER.fullmatch(text):
        return _reset_from_number(float(text), now, value)
    if _GO_DURATION.fullmatch(text):
        return now + timedelta(seconds=_go_duration_seconds(text))
    moment = _parse_timestamp(text)
    if moment is None:
        raise _unreadable_reset(value)
    return moment


def parse_retry_after(value: str, now: datetime) -> float | None:
    """Retry-After (delay-seconds or an HTTP-date) as seconds from `now`, never negative; None when
    malformed."""
    text = value.strip()
    if _COUNT.fullmatch(text):
        seconds = float(text)
        return seconds if math.isfinite(seconds) else None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return max((_as_utc(moment) - now).total_seconds(), 0.0)


# -- reset times -------------------------------------------------------------------------------------


def _reset_from_number(number: float, now: datetime, shown: str) -> datetime:
    if not math.isfinite(number) or number < 0:
        raise _unreadable_reset(shown)
    try:
        if number > _EPOCH_MS_ABOVE:
            return datetime.fromtimestamp(number / 1000, UTC)
        if number > _EPOCH_S_ABOVE:
            return datetime.fromtimestamp(number, UTC)
        return now + timedelta(seconds=number)
    except (OverflowError, ValueError, OSError) as exc:
        raise _unreadable_reset(shown) from exc


def _go_duration_seconds(text: str) -> float:
    return sum(float(amount) * _GO_UNIT_SECONDS[unit] for amount, unit in _GO_PART.findall(text))


def _parse_timestamp(text: str) -> datetime | None:
    """An ISO 8601 timestamp or an HTTP-date; a moment with no zone is taken as UTC."""
    try:
        return _as_utc(datetime.fromisoformat(text))
    except ValueError:
        pass
    try:
        return _as_utc(parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError):
        return None


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _unreadable_reset(value: str) -> QuotaFormatError:
    return QuotaFormatError(
        f"{truncate(value, SHOWN_VALUE_CHARS)!r} is not a reset time; expected epoch seconds or"
        ' milliseconds, seconds from now, an HTTP-date, ISO 8601 or a duration like "6m0s"'
    )


def _optional_reset(headers: list[_Header], now: datetime) -> datetime | None:
    """The first readable reset. An unreadable one gives None rather than an error: the counts are
    the quota, the reset only refines the forecast, and vendors' reset formats vary the most."""
    for header in headers:
        try:
            return parse_reset(header.value, now)
        except QuotaFormatError:
            continue
    return None


# -- counts ------------------------------------------------------------------------------------------


def _unexpected(header: _Header, expected: str) -> QuotaFormatError:
    shown = truncate(header.value.strip(), SHOWN_VALUE_CHARS)
    return QuotaFormatError(f"{header.name} is {shown!r}; expected {expected}")


def _missing(header: _Header, missing: str, needed: str) -> QuotaFormatError:
    shown = truncate(header.value.strip(), SHOWN_VALUE_CHARS)
    return QuotaFormatError(f"{header.name} is {shown!r} but {missing}; expected {needed}")


def _count(header: _Header, text: str | None = None) -> float:
    text = header.value.strip() if text is None else text.strip()
    if not _COUNT.fullmatch(text):
        raise _unexpected(header, "a count: a number, 0 or more")
    return float(text)


def _first_count(header: _Header) -> float:
    """The first number of a list: IETF draft-03 allows `RateLimit-Limit: 10, 10;w=1, 50;w=60`."""
    return _count(header, header.value.split(",", 1)[0].split(";", 1)[0])


# -- X-RateLimit-*, X-Rate-Limit-*, RateLimit-* (drafts up to -06), with or without a group suffix ------


def _groups(by_name: Mapping[str, _Header], now: datetime) -> Iterator[QuotaReading]:
    groups: dict[tuple[str, str | None], _Group] = {}
    for lower, header in by_name.items():
        match = _GROUP_HEADER.fullmatch(lower)
        if match is None:
            continue
        prefix, part, suffix = match.groups()
        group = groups.setdefault((prefix, suffix), _Group(prefix, suffix))
        (group.resets if part.startswith("reset") else group.counts)[part] = header
    for group in groups.values():
        if group.counts:  # a reset alone says when, not how much
            yield _group_reading(group, now)


def _group_reading(group: _Group, now: datetime) -> QuotaReading:
    limit_header = group.counts.get("limit")
    remaining = _optional_count(group.counts.get("remaining"))
    used = _optional_count(group.counts.get("used"))
    limit = None if limit_header is None else _first_count(limit_header)
    if limit is None and (remaining is None or used is None):
        lone = next(iter(group.counts.values()))
        raise _missing(lone, f"{group.expected('limit')} is missing", "the limit with it")
    if limit_header is not None and remaining is None and used is None:
        raise _missing(
            limit_header, f"{group.expected('remaining')} is missing", "the remaining or used count with it"
        )
    resets = [group.resets[part] for part in ("reset", "reset-after") if part in group.resets]
    return quota_reading(
        source=_GROUP_SOURCES[group.prefix],
        name=group.suffix,
        limit=limit,
        remaining=remaining,
        used=used,
        reset_at=_optional_reset(resets, now),
    )


def _optional_count(header: _Header | None) -> float | None:
    return None if header is None else _count(header)


# -- IETF structured fields (draft-07 and later): RateLimit with RateLimit-Policy ------------------------


def _ietf_structured(by_name: Mapping[str, _Header], now: datetime) -> Iterator[QuotaReading]:
    field_ = by_name.get("ratelimit")
    if field_ is None:  # a RateLimit-Policy alone advertises the policy, it says nothing of its use
        return
    policy = by_name.get("ratelimit-policy")
    members = _sf_members(field_.value)
    if not members:
        raise _unexpected(field_, 'items like "default";r=50;t=30')
    if "=" in members[0][0]:
        yield _ietf_draft07(field_, members, policy, now)
        return
    quotas = {name: params.get("q") for name, params in _sf_members(policy.value)} if policy else {}
    for name, params in members:
        remaining = params.get("r")
        if remaining is None:
            raise _unexpected(field_, f'r= (the remaining quota) on item "{name}"')
        quota = quotas.get(name)
        if policy is None or quota is None:
            raise _missing(field_, f'no RateLimit-Policy "{name}" gives its q=', "the quota of each policy")
        reset = params.get("t")
        yield quota_reading(
            source=_IETF_SOURCE,
            name=name,
            limit=_count(policy, quota),
            remaining=_count(field_, remaining),
            reset_at=None if reset is None else _optional_reset([_Header(field_.name, reset)], now),
        )


def _ietf_draft07(
    field_: _Header, members: list[tuple[str, dict[str, str]]], policy: _Header | None, now: datetime
) -> QuotaReading:
    """Draft-07's dictionary: `RateLimit: limit=100, remaining=50, reset=30`, `RateLimit-Policy: 100;w=60`."""
    values = dict(member.split("=", 1) for member, _params in members if "=" in member)
    values = {key.strip().lower(): value.strip() for key, value in values.items()}
    if "remaining" not in values:
        raise _unexpected(field_, "remaining= with limit= and reset=")
    if "limit" in values:
        limit = _count(field_, values["limit"])
    elif policy is not None:
        limit = _first_count(policy)
    else:
        raise _missing(field_, "it has no limit= and there is no RateLimit-Policy", "the limit")
    reset = values.get("reset")
    return quota_reading(
        source=_IETF_SOURCE,
        limit=limit,
        remaining=_count(field_, values["remaining"]),
        reset_at=None if reset is None else _optional_reset([_Header(field_.name, reset)], now),
    )


def _sf_members(text: str) -> list[tuple[str, dict[str, str]]]:
    """A structured-field list or dictionary, loosely: each member's bare item (unquoted) and its
    parameters, as text. Enough for the rate-limit fields, not a general RFC 8941 parser."""
    members = []
    for member in _split_outside_quotes(text, ","):
        item, *params = _split_outside_quotes(member, ";")
        if not item.strip():
            continue
        pairs = (param.partition("=") for param in params)
        members.append((_unquote(item), {key.strip().lower(): _unquote(value) for key, _eq, value in pairs}))
    return members


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _unquote(text: str) -> str:
    text = text.strip()
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


# -- used/limit pairs: Shopify, Salesforce --------------------------------------------------------------


def _pairs(by_name: Mapping[str, _Header]) -> Iterator[QuotaReading]:
    shopify = by_name.get(_SHOPIFY)
    if shopify is not None:
        match = _PAIR.fullmatch(shopify.value)
        if match is None:
            raise _unexpected(shopify, "used/limit, like 32/40")
        yield quota_reading(
            source="X-Shopify-Shop-Api-Call-Limit", used=float(match[1]), limit=float(match[2])
        )
    salesforce = by_name.get(_SALESFORCE)
    if salesforce is not None:
        for part in re.split(r"[;,]", salesforce.value):
            if not part.strip():
                continue
            match = _NAMED_PAIR.fullmatch(part)
            if match is None:
                raise _unexpected(salesforce, "name=used/limit, like api-usage=18/5000")
            yield quota_reading(
                source="Sforce-Limit-Info", name=match[1], used=float(match[2]), limit=float(match[3])
            )
