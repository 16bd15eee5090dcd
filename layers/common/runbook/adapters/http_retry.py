"""Bounded retries for calls to vendor HTTP APIs (PagerDuty, Statuspage): sync httpx.

Only what may succeed later is retried: 429 (and whatever else the policy's `retry_statuses` names, such
as Statuspage's 420), 5xx and transport failures (connection refused or reset, timeouts, a broken answer).
Waits grow exponentially with full jitter, but a server's own hint wins when it asks for longer:
`Retry-After` (seconds or an HTTP date) or, on a 429, PagerDuty REST's `ratelimit-reset` (seconds).
Nothing waits past the caller's deadline (a `time.monotonic()` value): when the next attempt cannot fit
before it, the call stops. Every attempt carries its own timeout, capped by the time left.

Errors name the request (method, scheme, host, port and path: no query), the number of attempts and the
last status or exception class: never a header, a body or an exception's text, where tokens may hide.
"""

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx

RETRYABLE_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class RetryPolicy:
    """`max_attempts` counts the first one. The wait before retry n (n >= 1) is uniform in
    [0, min(cap_s, base_s * 2**(n-1))], or the server's hint when that is longer (up to `max_hint_s`:
    a hint beyond it means "not within this run", so the call stops). `retry_statuses`: the statuses
    besides 5xx that are retried (429; Statuspage also answers 420 to a client that is too fast)."""

    max_attempts: int = 4
    base_s: float = 0.5
    cap_s: float = 8.0
    attempt_timeout_s: float = 10.0  # one attempt's limit (each httpx phase), before the deadline's cap
    min_attempt_s: float = 0.2  # an attempt with less time than this left is not started
    max_hint_s: float = 60.0
    retry_statuses: frozenset[int] = frozenset({429})

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 0 <= self.base_s <= self.cap_s:
            raise ValueError("need 0 <= base_s <= cap_s")
        if self.attempt_timeout_s <= 0 or self.min_attempt_s <= 0:
            raise ValueError("attempt_timeout_s and min_attempt_s must be positive")

    def backoff(self, retry: int, rng: Callable[[], float]) -> float:
        """The jittered wait before retry number `retry` (1 for the first retry)."""
        ceiling = min(self.cap_s, self.base_s * 2.0 ** min(retry - 1, 62))
        return float(rng()) * ceiling


class DeliveryFailedError(Exception):
    """The call did not get a usable answer: retries exhausted, the deadline reached, or a transport
    failure that retrying cannot fix. Carries no header or body (they may hold secrets)."""

    def __init__(
        self, target: str, attempts: int, last_status: int | None, last_error: str | None, reason: str
    ) -> None:
        last = f"HTTP {last_status}" if last_status is not None else (last_error or "nothing")
        super().__init__(f"{target}: no usable answer after {attempts} attempt(s) (last: {last}); {reason}")
        self.target = target
        self.attempts = attempts
        self.last_status = last_status
        self.last_error = last_error  # an exception class name, e.g. "ConnectError"
        self.reason = reason


def is_retryable_status(status: int, retry_statuses: frozenset[int] = frozenset({429})) -> bool:
    return status in retry_statuses or 500 <= status <= 599


def describe_request(request: httpx.Request) -> str:
    """METHOD scheme://host:port/path: no user info, query or fragment."""
    url = request.url
    host = f"[{url.host}]" if ":" in url.host else url.host
    port = url.port or _DEFAULT_PORTS.get(url.scheme, 0)
    path = url.raw_path.partition(b"?")[0].decode("ascii", errors="replace")
    return f"{request.method} {url.scheme}://{host}:{port}{path}"


def server_hint(response: httpx.Response, now: float) -> float | None:
    """Seconds the server asks us to wait, if it says: Retry-After (delta seconds or HTTP date, `now`
    being the wall clock) or, on a 429, `ratelimit-reset` (PagerDuty REST: seconds until the window
    resets). Unreadable values are ignored: the backoff applies."""
    hints: list[float] = []
    retry_after = _retry_after(response.headers.get("retry-after"), now)
    if retry_after is not None:
        hints.append(retry_after)
    if response.status_code == 429:
        reset = _seconds(response.headers.get("ratelimit-reset"))
        if reset is not None:
            hints.append(reset)
    return max(hints) if hints else None


def _retry_after(value: str | None, now: float) -> float | None:
    if value is None:
        return None
    seconds = _seconds(value)
    if seconds is not None:
        return seconds
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT
        return None
    return max(0.0, when.timestamp() - now)


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def send_with_retry(
    client: httpx.Client,
    request: httpx.Request,
    *,
    deadline: float,
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    rng: Callable[[], float] = random.random,
    wall_clock: Callable[[], float] = time.time,
) -> httpx.Response:
    """The first answer whose status is not retried (5xx, or one of `policy.retry_statuses`: 429 unless
    told otherwise), read in full: a 400 too, which the caller reports.

    Raises DeliveryFailedError when attempts run out, when the deadline leaves no room for the next
    attempt (a wait never ends past it), or on a transport failure retrying cannot fix."""
    target = describe_request(request)
    last_status: int | None = None
    last_error: str | None = None
    attempts = 0
    while True:
        left = deadline - clock()
        if left < policy.min_attempt_s:
            raise DeliveryFailedError(target, attempts, last_status, last_error, "deadline reached")
        request.extensions["timeout"] = httpx.Timeout(min(policy.attempt_timeout_s, left)).as_dict()
        attempts += 1
        hint: float | None = None
        try:
            response = client.send(request)
        except RETRYABLE_ERRORS as error:
            last_status, last_error = None, type(error).__name__
        except httpx.HTTPError as error:  # e.g. an unsupported scheme: the same next time
            raise DeliveryFailedError(target, attempts, None, type(error).__name__, "not retryable") from None
        else:
            if not is_retryable_status(response.status_code, policy.retry_statuses):
                return response
            last_status, last_error = response.status_code, None
            hint = server_hint(response, wall_clock())
            response.close()
        if attempts >= policy.max_attempts:
            raise DeliveryFailedError(target, attempts, last_status, last_error, "retries exhausted")
        wait = policy.backoff(attempts, rng)
        if hint is not None:
            if hint > policy.max_hint_s:
                raise DeliveryFailedError(
                    target, attempts, last_status, last_error, f"the server asks to wait {hint:g} s"
                )
            wait = max(wait, hint)
        if clock() + wait + policy.min_attempt_s > deadline:
            raise DeliveryFailedError(
                target, attempts, last_status, last_error, "deadline reached: no time for another attempt"
            )
        sleep(wait)
