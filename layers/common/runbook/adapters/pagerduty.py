"""PagerDuty: the Events API v2 (pages) and the REST API v2 (the ack-deadline sweep).

Clients are passed in; every call is bounded by the caller's deadline (a `time.monotonic()` value) and
goes through http_retry (429 and 5xx retried, 400 never). Secrets (the routing key, the REST token) never
appear in an exception or a log field: PagerDuty's own error text is quoted with them masked.
"""

import json
import logging
import random
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from runbook.adapters.http_retry import DeliveryFailedError, RetryPolicy, send_with_retry
from runbook.models.pagerduty import (
    EscalationPolicy,
    Incident,
    LogEntry,
    OnCall,
    PagerDutyEvent,
    SendResult,
    escalation_level_from,
)
from runbook.text import truncate

__all__ = [
    "DeliveryFailedError",
    "EventRejectedError",
    "PagerDutyApiError",
    "PagerDutyError",
    "PagerDutyEvents",
    "PagerDutyRest",
]

logger = logging.getLogger(__name__)

ACCEPT = "application/vnd.pagerduty+json;version=2"
PAGE_LIMIT = 100  # PagerDuty's maximum `limit`
MAX_ERROR_TEXT = 500
MASK = "***"


class PagerDutyError(Exception):
    """PagerDuty answered, and not with what was asked. Messages never hold a secret."""


class EventRejectedError(PagerDutyError):
    """The Events API refused the event (400, or another 4xx than 429): sending it again will not help."""

    def __init__(self, status: int, message: str, errors: Sequence[str]) -> None:
        detail = f"{message}: {'; '.join(errors)}" if errors else message
        super().__init__(f"PagerDuty Events API rejected the event (HTTP {status}): {detail}")
        self.status = status
        self.message = message
        self.errors = tuple(errors)


class PagerDutyApiError(PagerDutyError):
    """The REST API refused the call (4xx but 429), or answered something that cannot be read."""

    def __init__(
        self, operation: str, status: int, message: str, errors: Sequence[str] = (), code: int | None = None
    ) -> None:
        detail = f"{message}: {'; '.join(errors)}" if errors else message
        coded = f", code {code}" if code is not None else ""
        super().__init__(f"PagerDuty REST {operation} failed (HTTP {status}{coded}): {detail}")
        self.operation = operation
        self.status = status
        self.message = message
        self.errors = tuple(errors)
        self.code = code


class _Retrying:
    """What both clients share: the retry policy and the clocks (injected by tests)."""

    def __init__(
        self,
        client: httpx.Client,
        policy: RetryPolicy,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        rng: Callable[[], float],
    ) -> None:
        self._client = client
        self._policy = policy
        self._sleep = sleep
        self._clock = clock
        self._rng = rng

    def _send(self, request: httpx.Request, deadline: float) -> httpx.Response:
        return send_with_retry(
            self._client,
            request,
            deadline=deadline,
            policy=self._policy,
            sleep=self._sleep,
            clock=self._clock,
            rng=self._rng,
        )


class PagerDutyEvents(_Retrying):
    """POST /v2/enqueue. `url` is the whole endpoint (PAGERDUTY_EVENTS_URL)."""

    def __init__(
        self,
        client: httpx.Client,
        url: str,
        policy: RetryPolicy,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        super().__init__(client, policy, sleep, clock, rng)
        self._url = url

    def send(self, event: PagerDutyEvent, deadline: float) -> SendResult:
        """Accepted (202) with PagerDuty's dedup_key; EventRejectedError for a 400 (never retried);
        DeliveryFailedError when 429/5xx/transport failures outlast the retries or the deadline."""
        body = event.to_body()
        secrets = [body["routing_key"]]
        request = self._client.build_request(
            "POST",
            self._url,
            content=json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        response = self._send(request, deadline)
        document = _json_object(response)
        if response.is_success:
            dedup_key = document.get("dedup_key") if document else None
            if not isinstance(dedup_key, str) or not dedup_key:
                dedup_key = event.dedup_key
            if dedup_key is None:
                raise EventRejectedError(response.status_code, "accepted, but no dedup_key in the answer", ())
            return SendResult(dedup_key=dedup_key, message=_text(document.get("message"), secrets) or "")
        message = _text(document.get("message"), secrets) or response.reason_phrase or "no message"
        errors = [_text(error, secrets) or "" for error in _list(document.get("errors"))]
        raise EventRejectedError(response.status_code, message, errors)


class PagerDutyRest(_Retrying):
    """The REST API v2 calls of the ack-deadline sweep. `base_url`: PAGERDUTY_API_URL. PagerDuty allows
    960 requests a minute per key; the sweep bounds how many it makes (services/ack_sweep.py)."""

    def __init__(
        self,
        client: httpx.Client,
        base_url: str,
        token: str,
        from_email: str,
        policy: RetryPolicy,
        *,
        page_size: int = PAGE_LIMIT,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        super().__init__(client, policy, sleep, clock, rng)
        if not 1 <= page_size <= PAGE_LIMIT:
            raise ValueError(f"page_size must be within 1..{PAGE_LIMIT}")
        self._base_url = base_url.rstrip("/")
        self._token = token
        self._from_email = from_email
        self._page_size = page_size

    def triggered_incidents(
        self, service_ids: Sequence[str], deadline: float, max_pages: int = 50, *, with_levels: bool = True
    ) -> list[Incident]:
        """Triggered (not acknowledged) incidents of these services, in PagerDuty's order. No services:
        none (an empty filter would list the whole account). At most `max_pages` pages: when more
        remain, a warning is logged ("pagerduty incident listing cut short") and the incidents read so
        far are returned. With `with_levels`, each incident's escalation_level is
        derived from its policy's on-calls (one GET /oncalls per policy)."""
        if not service_ids:
            return []
        query = [("statuses[]", "triggered"), *(("service_ids[]", sid) for sid in dict.fromkeys(service_ids))]
        documents, complete = self._pages(
            "GET /incidents", "/incidents", query, "incidents", deadline, max_pages
        )
        if not complete:
            logger.warning(
                "pagerduty incident listing cut short",
                extra={"max_pages": max_pages, "incidents_read": len(documents), "more": True},
            )
        incidents = _unique(self._read(Incident.from_api, "GET /incidents", doc) for doc in documents)
        if not with_levels:
            return incidents
        on_calls: dict[str, list[OnCall]] = {}
        for policy_id in dict.fromkeys(i.escalation_policy_id for i in incidents if i.escalation_policy_id):
            on_calls[policy_id] = self.on_calls(policy_id, deadline)
        return [
            incident.model_copy(
                update={
                    "escalation_level": escalation_level_from(
                        incident.assignee_ids, on_calls.get(incident.escalation_policy_id or "", ())
                    )
                }
            )
            for incident in incidents
        ]

    def escalation_policy(self, policy_id: str, deadline: float) -> EscalationPolicy:
        operation = "GET /escalation_policies/{id}"
        response = self._call("GET", f"/escalation_policies/{_segment(policy_id)}", operation, deadline)
        document = self._expect(response, operation, "escalation_policy")
        return self._read(EscalationPolicy.from_api, operation, document)

    def on_calls(self, policy_id: str, deadline: float, max_pages: int = 10) -> list[OnCall]:
        """Who is on call now at each level of the policy (GET /oncalls, every page up to max_pages)."""
        query = [("escalation_policy_ids[]", policy_id)]
        documents, complete = self._pages("GET /oncalls", "/oncalls", query, "oncalls", deadline, max_pages)
        if not complete:
            logger.warning(
                "pagerduty on-call listing cut short",
                extra={"max_pages": max_pages, "on_calls_read": len(documents), "more": True},
            )
        return [self._read(OnCall.from_api, "GET /oncalls", document) for document in documents]

    def log_entries(
        self, incident_id: str, since: datetime, deadline: float, max_pages: int = 3
    ) -> list[LogEntry]:
        """The incident's log entries from `since` on (GET /incidents/{id}/log_entries?since=), every
        page up to `max_pages` (a warning, "pagerduty log listing cut short", when more remain), in
        PagerDuty's order: callers must not rely on it. `since` keeps the answer to what is new."""
        operation = "GET /incidents/{id}/log_entries"
        path = f"/incidents/{_segment(incident_id)}/log_entries"
        query = [("since", since.isoformat())]
        documents, complete = self._pages(operation, path, query, "log_entries", deadline, max_pages)
        if not complete:
            logger.warning(
                "pagerduty log listing cut short",
                extra={"incident": incident_id, "max_pages": max_pages, "entries_read": len(documents)},
            )
        return [self._read(LogEntry.from_api, operation, document) for document in documents]

    def escalate(self, incident_id: str, level: int, deadline: float) -> None:
        """PUT /incidents/{id} with escalation_level (1 is the first level): PagerDuty reassigns the
        incident to that level's on-call and notifies them. PagerDuty's answer must hold the incident."""
        operation = "PUT /incidents/{id}"
        body = {"incident": {"type": "incident_reference", "escalation_level": level}}
        response = self._call("PUT", f"/incidents/{_segment(incident_id)}", operation, deadline, body)
        self._expect(response, operation, "incident")

    def add_note(self, incident_id: str, content: str, deadline: float) -> None:
        """POST /incidents/{id}/notes. PagerDuty's answer must hold the note."""
        operation = "POST /incidents/{id}/notes"
        body = {"note": {"content": content}}
        path = f"/incidents/{_segment(incident_id)}/notes"
        self._expect(self._call("POST", path, operation, deadline, body), operation, "note")

    # --- plumbing ---------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        operation: str,
        deadline: float,
        body: dict[str, Any] | None = None,
        query: Sequence[tuple[str, str | int]] = (),
    ) -> httpx.Response:
        headers = {
            "Authorization": f"Token token={self._token}",
            "Accept": ACCEPT,
            "Content-Type": "application/json",  # the spec requires it on every operation, GETs too
        }
        if method != "GET":
            headers["From"] = self._from_email
        request = self._client.build_request(
            method,
            self._base_url + path,
            params=list(query),
            headers=headers,
            content=json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode() if body else None,
        )
        response = self._send(request, deadline)
        if not response.is_success:
            document = _json_object(response)
            nested = document.get("error")
            error: dict[str, Any] = nested if isinstance(nested, dict) else document
            secrets = [self._token]
            message = _text(error.get("message"), secrets) or response.reason_phrase or "no message"
            errors = [_text(e, secrets) or "" for e in _list(error.get("errors"))]
            code = error.get("code") if isinstance(error.get("code"), int) else None
            raise PagerDutyApiError(operation, response.status_code, message, errors, code)
        return response

    def _pages(
        self,
        operation: str,
        path: str,
        query: list[tuple[str, str]],
        key: str,
        deadline: float,
        max_pages: int,
    ) -> tuple[list[dict[str, Any]], bool]:
        """Every item of an offset-paginated list, up to max_pages pages; (items, complete)."""
        items: list[dict[str, Any]] = []
        offset = 0
        for _ in range(max_pages):
            page_query = [*query, ("limit", str(self._page_size)), ("offset", str(offset))]
            response = self._call("GET", path, operation, deadline, query=page_query)
            document = _json_object(response)
            page = document.get(key)
            if not isinstance(page, list) or not all(isinstance(item, dict) for item in page):
                raise PagerDutyApiError(operation, response.status_code, f"the answer has no {key!r} list")
            items.extend(page)
            if document.get("more") is not True or not page:
                return items, True
            offset += len(page)
        return items, False

    def _expect(self, response: httpx.Response, operation: str, key: str) -> dict[str, Any]:
        value = _json_object(response).get(key)
        if not isinstance(value, dict):
            raise PagerDutyApiError(operation, response.status_code, f"the answer has no {key!r} object")
        return value

    def _read[T](self, reader: Callable[[dict[str, Any]], T], operation: str, document: dict[str, Any]) -> T:
        try:
            return reader(document)
        except (KeyError, TypeError, AttributeError, ValidationError) as error:
            where = f"field {error}" if isinstance(error, KeyError) else type(error).__name__
            raise PagerDutyApiError(operation, 200, f"unexpected answer ({where})") from None


def _segment(value: str) -> str:
    """An id as one path segment: "/" and the like cannot reach another endpoint."""
    return quote(value, safe="")


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        document = json.loads(response.content) if response.content else {}
    except (ValueError, RecursionError):
        return {}
    return document if isinstance(document, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any, secrets: Iterable[str]) -> str | None:
    """Vendor text for a message: a string, secrets masked, cut to a sensible length."""
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return truncate(text, MAX_ERROR_TEXT)


def _unique(incidents: Iterable[Incident]) -> list[Incident]:
    """Pages read while incidents come and go may repeat one: keep the first of each id."""
    seen: dict[str, Incident] = {}
    for incident in incidents:
        seen.setdefault(incident.id, incident)
    return list(seen.values())
