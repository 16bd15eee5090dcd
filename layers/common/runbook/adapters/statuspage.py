"""Statuspage (API v1): the incidents the runbook opens and updates on one status page, and its components.

Statuspage allows each API token 1 request per second (over a 60 s window) and answers 420 or 429 to a
client that goes faster. This client paces itself: each request starts at least `min_interval_s` after
the previous exchange of this client ended (retries included), so the server sees them arrive at least
that far apart. Every call is bounded by the caller's deadline (a `time.monotonic()` value): no wait,
pacing included, ends past it, and a request that cannot start in time is not sent. 420, 429 and 5xx
answers and transport failures are retried through http_retry (exponential backoff with jitter, never
shorter than the pacing, Retry-After honoured); any other 4xx raises StatuspageRejectedError.

A create retried after a 5xx or a lost answer may leave a duplicate incident (Statuspage has no
idempotency key): the metadata the caller attaches lets it find one.

Clients are passed in. The API key never appears in an exception or a log field: Statuspage's own error
text is quoted with it masked.
"""

import dataclasses
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from runbook.adapters.http_retry import DeliveryFailedError, RetryPolicy, describe_request, send_with_retry
from runbook.models.statuspage_api import IncidentChange, IncidentDraft, SpComponent, SpIncident
from runbook.text import truncate

__all__ = [
    "DeliveryFailedError",
    "StatuspageAnswerError",
    "StatuspageApi",
    "StatuspageError",
    "StatuspageRejectedError",
]

logger = logging.getLogger(__name__)

RATE_LIMITED = frozenset({420, 429})  # Statuspage answers either to a token over its rate
PER_PAGE = 100  # Statuspage's maximum page size for lists
MAX_ERROR_TEXT = 500
MASK = "***"


class StatuspageError(Exception):
    """Statuspage answered, and not with what was asked. Messages never hold the API key."""


class StatuspageRejectedError(StatuspageError):
    """Statuspage refused the call (a 4xx other than 420 and 429, or another non-2xx answer that is not
    retried): sending it again will not help."""

    def __init__(self, status: int, message: str, operation: str = "") -> None:
        where = f" {operation}" if operation else ""
        super().__init__(f"Statuspage refused{where} (HTTP {status}): {message}")
        self.status = status
        self.message = message
        self.operation = operation


class StatuspageAnswerError(StatuspageError):
    """Statuspage accepted the call, but its answer cannot be read."""

    def __init__(self, operation: str, status: int, message: str) -> None:
        super().__init__(f"Statuspage {operation} answered HTTP {status}, unreadable: {message}")
        self.operation = operation
        self.status = status
        self.message = message


class StatuspageApi:
    """The calls the runbook makes to one Statuspage page. `base_url`: the API root, such as
    https://api.statuspage.io/v1. Use one instance per API key, from one thread at a time (calls from
    several threads are serialized: the pacing is per token)."""

    def __init__(
        self,
        client: httpx.Client,
        base_url: str,
        page_id: str,
        api_key: str,
        policy: RetryPolicy,
        *,
        min_interval_s: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if not page_id:
            raise ValueError("page_id is empty")
        if not api_key:
            raise ValueError("api_key is empty")
        if min_interval_s < 0:
            raise ValueError("min_interval_s must not be negative")
        self._client = client
        self._base_url = base_url.rstrip("/")
        self._page_id = page_id
        self._api_key = api_key
        # Statuspage's 420 means what 429 does: too fast, retry later.
        self._policy = dataclasses.replace(policy, retry_statuses=policy.retry_statuses | RATE_LIMITED)
        self._min_interval_s = min_interval_s
        self._sleep = sleep
        self._clock = clock
        self._rng = rng
        self._lock = threading.Lock()
        self._last_exchange_end: float | None = None  # clock() when this client's last request ended

    def __repr__(self) -> str:
        return f"StatuspageApi(base_url={self._base_url!r}, page_id={self._page_id!r})"

    def get_incident(self, incident_id: str, deadline: float) -> SpIncident | None:
        """The incident; None when Statuspage does not know it (404)."""
        operation = "GET /pages/{page_id}/incidents/{incident_id}"
        response = self._call("GET", f"/incidents/{_segment(incident_id)}", operation, deadline)
        if response.status_code == 404:
            return None
        self._raise_for_status(response, operation)
        return self._read(SpIncident.from_api, operation, response, _json_object(response))

    def create_incident(self, draft: IncidentDraft, deadline: float) -> SpIncident:
        """POST /pages/{page_id}/incidents: the incident as Statuspage created it (its first update
        carries the draft's body; the components named take the statuses given)."""
        operation = "POST /pages/{page_id}/incidents"
        response = self._call("POST", "/incidents", operation, deadline, draft.to_body())
        self._raise_for_status(response, operation)
        return self._read(SpIncident.from_api, operation, response, _json_object(response))

    def update_incident(self, incident_id: str, change: IncidentChange, deadline: float) -> SpIncident:
        """PATCH /pages/{page_id}/incidents/{incident_id} with only the fields `change` sets. An empty
        change is a ValueError (nothing to send)."""
        if change.is_empty:
            raise ValueError("the change changes nothing")
        operation = "PATCH /pages/{page_id}/incidents/{incident_id}"
        path = f"/incidents/{_segment(incident_id)}"
        response = self._call("PATCH", path, operation, deadline, change.to_body())
        self._raise_for_status(response, operation)
        return self._read(SpIncident.from_api, operation, response, _json_object(response))

    def list_components(self, deadline: float, *, max_pages: int = 10) -> list[SpComponent]:
        """Every component of the page (GET /pages/{page_id}/components, 100 a page, up to `max_pages`
        pages: when more remain, a warning is logged and the components read so far are returned)."""
        operation = "GET /pages/{page_id}/components"
        components: dict[str, SpComponent] = {}
        for page in range(1, max_pages + 1):
            query = {"page": page, "per_page": PER_PAGE}
            response = self._call("GET", "/components", operation, deadline, query=query)
            self._raise_for_status(response, operation)
            documents = _json_list(response)
            if documents is None:
                raise StatuspageAnswerError(operation, response.status_code, "the answer is not a list")
            for document in documents:
                component = self._read(SpComponent.from_api, operation, response, document)
                components.setdefault(component.id, component)
            if len(documents) < PER_PAGE:
                return list(components.values())
        logger.warning(
            "statuspage component listing cut short",
            extra={"max_pages": max_pages, "components_read": len(components), "more": True},
        )
        return list(components.values())

    # --- plumbing ---------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        operation: str,
        deadline: float,
        body: dict[str, Any] | None = None,
        query: dict[str, int] | None = None,
    ) -> httpx.Response:
        headers = {"Authorization": f"OAuth {self._api_key}", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        request = self._client.build_request(
            method,
            f"{self._base_url}/pages/{_segment(self._page_id)}{path}",
            params=query,
            headers=headers,
            content=json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode() if body else None,
        )
        return self._send(request, deadline)

    def _send(self, request: httpx.Request, deadline: float) -> httpx.Response:
        """send_with_retry, paced: the first attempt waits for its turn, and every retry waits at
        least `min_interval_s` (the retry's wait starts when the attempt before it has ended)."""
        with self._lock:
            self._wait_turn(request, deadline)
            out_of_room = False

            def paced_sleep(wait: float) -> None:
                nonlocal out_of_room
                pause = max(wait, self._min_interval_s)
                if self._clock() + pause + self._policy.min_attempt_s > deadline:
                    out_of_room = True  # `clock` now says the deadline has come: send_with_retry stops
                    return
                self._sleep(pause)

            def clock() -> float:
                return deadline if out_of_room else self._clock()

            try:
                return send_with_retry(
                    self._client,
                    request,
                    deadline=deadline,
                    policy=self._policy,
                    sleep=paced_sleep,
                    clock=clock,
                    rng=self._rng,
                )
            finally:
                self._last_exchange_end = self._clock()

    def _wait_turn(self, request: httpx.Request, deadline: float) -> None:
        if self._last_exchange_end is None:
            return
        pause = self._last_exchange_end + self._min_interval_s - self._clock()
        if pause <= 0:
            return
        if self._clock() + pause + self._policy.min_attempt_s > deadline:
            raise DeliveryFailedError(
                describe_request(request), 0, None, None, "deadline reached: no time for a paced attempt"
            )
        self._sleep(pause)

    def _raise_for_status(self, response: httpx.Response, operation: str) -> None:
        if response.is_success:
            return
        raise StatuspageRejectedError(response.status_code, self._error_text(response), operation)

    def _error_text(self, response: httpx.Response) -> str:
        document = _json_object(response)
        value = document.get("error") or document.get("message") or document.get("errors")
        if isinstance(value, list):
            value = "; ".join(str(item) for item in value)
        text = value if isinstance(value, str) else (json.dumps(value) if value else "")
        text = text or response.reason_phrase or "no message"
        return truncate(text.replace(self._api_key, MASK), MAX_ERROR_TEXT)

    def _read[T](
        self,
        reader: Callable[[dict[str, Any]], T],
        operation: str,
        response: httpx.Response,
        document: Any,
    ) -> T:
        if not isinstance(document, dict) or not document:
            raise StatuspageAnswerError(operation, response.status_code, "no JSON object in the answer")
        try:
            return reader(document)
        except (KeyError, TypeError, AttributeError, ValidationError) as error:
            where = f"field {error}" if isinstance(error, KeyError) else type(error).__name__
            raise StatuspageAnswerError(
                operation, response.status_code, f"unexpected answer ({where})"
            ) from None


def _segment(value: str) -> str:
    """An id as one path segment: "/" and the like cannot reach another endpoint."""
    return quote(value, safe="")


def _json(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content) if response.content else None
    except (ValueError, RecursionError):
        return None


def _json_object(response: httpx.Response) -> dict[str, Any]:
    document = _json(response)
    return document if isinstance(document, dict) else {}


def _json_list(response: httpx.Response) -> list[Any] | None:
    document = _json(response)
    return document if isinstance(document, list) else None
