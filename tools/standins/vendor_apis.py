"""Answers that imitate real APIs' status and usage endpoints, as `Reply`s for a `LoopbackServer` route.

Header names and value formats follow each vendor's documentation: GitHub's X-RateLimit-* with Used and
an epoch Reset, the IETF RateLimit/RateLimit-Policy structured fields, OpenAI's requests and tokens
groups with Go-style resets, Shopify's call-limit pair, Salesforce's Sforce-Limit-Info. The JSON bodies
are shaped like the usage endpoints of API-key services (usage and limit under `data`)."""

import json
import time
from email.utils import formatdate
from typing import Any

from standins.http_servers import Reply

OK = b'{"status":"ok"}'
Headers = tuple[tuple[str, str], ...]


def json_body(document: Any) -> bytes:
    return json.dumps(document).encode()


def github(*, used: int, limit: int = 5000, reset_in_s: int = 1800, body: bytes = OK) -> Reply:
    """GitHub REST: lower-case x-ratelimit-*, Used next to Remaining, Reset in epoch seconds."""
    return Reply(
        body=body,
        headers=(
            ("x-ratelimit-limit", str(limit)),
            ("x-ratelimit-remaining", str(limit - used)),
            ("x-ratelimit-reset", str(int(time.time()) + reset_in_s)),
            ("x-ratelimit-used", str(used)),
            ("x-ratelimit-resource", "core"),
            ("x-github-request-id", "C0DE:4F2A:1B2C3D:1C2D3E:6734B0A1"),
        ),
    )


def ietf_structured(policies: dict[str, tuple[int, int, int]], body: bytes = OK) -> Reply:
    """IETF draft RateLimit headers (draft-08 on): {policy: (quota, remaining, reset seconds)}."""
    policy = ", ".join(f'"{name}";q={quota};w=60' for name, (quota, _r, _t) in policies.items())
    field = ", ".join(
        f'"{name}";r={remaining};t={reset}' for name, (_q, remaining, reset) in policies.items()
    )
    return Reply(body=body, headers=(("RateLimit-Policy", policy), ("RateLimit", field)))


def ietf_draft06(*, limit: int, remaining: int, reset_s: int = 30) -> Reply:
    """The older IETF drafts (up to -06): RateLimit-Limit / -Remaining / -Reset (seconds from now)."""
    return Reply(
        headers=(
            ("RateLimit-Limit", f"{limit}, {limit};w=60"),
            ("RateLimit-Remaining", str(remaining)),
            ("RateLimit-Reset", str(reset_s)),
        )
    )


def openai(
    *,
    requests: tuple[int, int],
    tokens: tuple[int, int],
    reset_requests: str = "1s",
    reset_tokens: str = "6m0s",
) -> Reply:
    """OpenAI: one X-RateLimit group per limit, (limit, remaining) each, resets as Go durations."""
    (request_limit, requests_left), (token_limit, tokens_left) = requests, tokens
    return Reply(
        body=json_body({"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model"}]}),
        headers=(
            ("x-ratelimit-limit-requests", str(request_limit)),
            ("x-ratelimit-limit-tokens", str(token_limit)),
            ("x-ratelimit-remaining-requests", str(requests_left)),
            ("x-ratelimit-remaining-tokens", str(tokens_left)),
            ("x-ratelimit-reset-requests", reset_requests),
            ("x-ratelimit-reset-tokens", reset_tokens),
            ("openai-processing-ms", "38"),
        ),
    )


def shopify(*, used: int, limit: int = 40) -> Reply:
    """Shopify Admin REST: the leaky bucket as used/limit in one header."""
    return Reply(
        body=json_body({"shop": {"id": 548380009, "name": "John Smith Test Store"}}),
        headers=(("X-Shopify-Shop-Api-Call-Limit", f"{used}/{limit}"),),
    )


def salesforce(*, used: int, limit: int = 15000) -> Reply:
    """Salesforce REST: the org's daily API requests as api-usage=used/limit."""
    return Reply(headers=(("Sforce-Limit-Info", f"api-usage={used}/{limit}"),))


def key_usage(*, usage: float, limit: float, status: int = 200) -> Reply:
    """A usage endpoint of an API-key service (OpenRouter's /api/v1/key shape): JSON, no headers."""
    document = {
        "data": {"label": "runbook", "usage": usage, "limit": limit, "limit_remaining": limit - usage}
    }
    return Reply(status=status, body=json_body(document))


def too_many_requests(retry_after: str, headers: Headers = ()) -> Reply:
    """429 Too Many Requests with Retry-After (delay-seconds or an HTTP-date)."""
    body = json_body({"message": "API rate limit exceeded", "documentation_url": "https://docs.example.com"})
    return Reply(status=429, body=body, headers=(("Retry-After", retry_after), *headers))


def http_date_in(seconds: int) -> str:
    """An IMF-fixdate `seconds` from now, as a Retry-After or Date header carries it."""
    return formatdate(time.time() + seconds, usegmt=True)
