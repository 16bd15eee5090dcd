"""A local Slack on 127.0.0.1: incoming webhooks, one per channel, on one threaded HTTP server with a
random port. `url(channel)` gives the channel's webhook URL, shaped like Slack's
(`/services/T…/B…/<secret>`, the secret random), the same one each time it is asked.

Slack's answers: 200 "ok", or an error code as plain text. A POST to an unknown path is answered 404
`no_service`. Every body is checked as Slack would: a JSON object (Content-Type application/json), a
non-empty `text` string (else 400 `no_text`), and when present `blocks`, a list of at most 50 objects
each with a `type`, a section's text object 1..3,000 characters. Anything else is answered 400
`invalid_payload`, and so is a text over 40,000 characters (Slack would cut it without saying: the
project must cut it itself). A refused request is recorded in `violations`; the `slack` fixture
(tests/support/standin_fixtures.py) fails the test at teardown when any is left (a test about refusals
takes them with `take_violations()`).

Accepted bodies are kept per channel, in order (`messages(channel)`); every request, with the answer
it got, in `received(channel)`. Faults per channel: `fail_next(channel, status, times, headers)`
(e.g. 429 with Retry-After, 500, 410 `channel_is_archived`; the code defaults from the status),
`delay(channel, seconds)`; `limit_rate(channel, per_second)` answers 429 `rate_limited` with a
Retry-After to messages that come faster than that (Slack allows about one a second per webhook),
against `clock` (time.monotonic unless a test sets its own). The server and the violations are
standin_server's; the faults and delays are kept per channel, on each webhook.
"""

import json
import math
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from standins.standin_server import HeaderPairs, LoopbackStandin, StandinHandler, take_fault

MAX_TEXT = 40_000
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3_000
MAX_FIELD_TEXT = 2_000
MAX_FIELDS = 10
MAX_BLOCK_ID = 255
TEXT_TYPES = ("mrkdwn", "plain_text")
# Slack's code for a fault's status, when the test names none.
DEFAULT_CODES = {
    400: "invalid_payload",
    403: "action_prohibited",
    404: "channel_not_found",
    410: "channel_is_archived",
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
}
_ALPHANUMERIC = string.ascii_letters + string.digits
_ID_CHARS = string.ascii_uppercase + string.digits


def _random(alphabet: str, size: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(size))


@dataclass(frozen=True)
class ReceivedRequest:
    channel: str | None  # None: a path no webhook has
    method: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    status: int  # what the receiver answered
    answer: str  # "ok" or Slack's error code

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Violation:
    channel: str | None
    status: int  # what the receiver answered
    code: str
    errors: tuple[str, ...]

    def __str__(self) -> str:
        return f"#{self.channel} -> {self.status} {self.code}: " + " | ".join(self.errors)


@dataclass
class Fault:
    status: int
    times: int
    code: str
    headers: HeaderPairs = ()


@dataclass
class _Webhook:
    channel: str
    path: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    delay: float = 0.0
    min_interval: float | None = None  # limit_rate: seconds between two accepted messages
    last_accepted: float | None = None


class SlackReceiver(LoopbackStandin[Violation]):
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.clock = clock  # for limit_rate
        self.team = "T" + _random(_ID_CHARS, 8)
        self._webhooks: dict[str, _Webhook] = {}  # by channel
        self._paths: dict[str, _Webhook] = {}
        self._requests: list[ReceivedRequest] = []

    # --- what tests set up ------------------------------------------------------------------------

    def url(self, channel: str) -> str:
        """The channel's webhook URL (made on first use; the same one afterwards)."""
        return self.base_url + self._webhook(channel).path

    def fail_next(
        self,
        channel: str,
        status: int,
        times: int = 1,
        headers: dict[str, str] | None = None,
        code: str | None = None,
    ) -> None:
        """The next `times` valid messages to `channel` are answered `status` with Slack's `code` (by
        default the usual one for the status, e.g. 410 `channel_is_archived`) and these headers (e.g.
        {"Retry-After": "3"}). Faults queue up in order."""
        fault = Fault(
            status, times, code or DEFAULT_CODES.get(status, "error"), tuple((headers or {}).items())
        )
        with self._lock:
            self._webhook(channel).faults.append(fault)

    def delay(self, channel: str, seconds: float) -> None:
        """Answer `channel`'s requests after `seconds` (0 removes the delay)."""
        with self._lock:
            self._webhook(channel).delay = max(0.0, seconds)

    def limit_rate(self, channel: str, per_second: float | None = 1.0) -> None:
        """Messages to `channel` closer than 1/per_second to the last accepted one get 429
        `rate_limited` with Retry-After (whole seconds, as Slack sends). None lifts the limit."""
        with self._lock:
            self._webhook(channel).min_interval = None if per_second is None else 1.0 / per_second

    # --- what tests read (and take_violations) ----------------------------------------------------

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """The JSON bodies `channel` accepted, in order."""
        with self._lock:
            webhook = self._webhooks.get(channel)
            return list(webhook.messages) if webhook else []

    def received(self, channel: str | None = None) -> list[ReceivedRequest]:
        """Every request to `channel` (all requests when None), with the answer it got, in order."""
        with self._lock:
            return [r for r in self._requests if channel is None or r.channel == channel]

    # --- serving ----------------------------------------------------------------------------------

    def _webhook(self, channel: str) -> _Webhook:
        with self._lock:
            webhook = self._webhooks.get(channel)
            if webhook is None:
                path = f"/services/{self.team}/B{_random(_ID_CHARS, 10)}/{_random(_ALPHANUMERIC, 24)}"
                webhook = self._webhooks[channel] = self._paths[path] = _Webhook(channel, path)
            return webhook

    def _handle(self, handler: StandinHandler) -> None:
        body = handler.read_body()
        headers = handler.lower_headers()
        with self._lock:
            webhook = self._paths.get(urlsplit(handler.path).path)
            delay = webhook.delay if webhook else 0.0
        self._wait(delay)
        with self._lock:
            status, code, extra = self._answer(webhook, handler.command, headers, body)
            channel = webhook.channel if webhook else None
            self._requests.append(ReceivedRequest(channel, handler.command, headers, body, status, code))
        handler.reply(status, "text/plain; charset=utf-8", code.encode(), extra)

    def _answer(
        self, webhook: _Webhook | None, method: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, str, HeaderPairs]:
        """(status, code, headers); called under the lock."""
        if webhook is None:
            return 404, "no_service", ()
        code, errors, message = _check(method, headers, body)
        if errors:
            self.violations.append(Violation(webhook.channel, 400, code, tuple(errors)))
            return 400, code, ()
        fault = take_fault(webhook.faults)
        if fault is not None:
            return fault.status, fault.code, fault.headers
        now = self.clock()
        if webhook.min_interval is not None and webhook.last_accepted is not None:
            wait = webhook.last_accepted + webhook.min_interval - now
            if wait > 0:
                return 429, "rate_limited", (("Retry-After", str(max(1, math.ceil(wait)))),)
        webhook.last_accepted = now
        webhook.messages.append(message)
        return 200, "ok", ()


def _check(method: str, headers: dict[str, str], body: bytes) -> tuple[str, list[str], dict[str, Any]]:
    """(Slack's code, what is wrong, the message) for one request to a known webhook."""
    if method != "POST":
        return "invalid_payload", [f"{method}: a webhook takes POST"], {}
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return "invalid_payload", [f"Content-Type is {content_type or 'missing'}, not application/json"], {}
    try:
        message = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        return "invalid_payload", [f"the body is not UTF-8 JSON ({type(error).__name__})"], {}
    if not isinstance(message, dict):
        return "invalid_payload", ["the body is not a JSON object"], {}
    text = message.get("text")
    if text is None or (isinstance(text, str) and not text.strip()):
        return "no_text", ["'text' is missing or empty"], message
    errors: list[str] = []
    if not isinstance(text, str):
        errors.append(f"'text' is a {type(text).__name__}, not a string")
    elif len(text) > MAX_TEXT:
        errors.append(f"'text' has {len(text)} characters; Slack shows {MAX_TEXT}")
    if "blocks" in message:
        errors.extend(_block_errors(message["blocks"]))
    return ("invalid_payload" if errors else "ok"), errors, message


def _block_errors(blocks: Any) -> list[str]:
    if not isinstance(blocks, list):
        return ["'blocks' is not a list"]
    errors = [f"{len(blocks)} blocks; the limit is {MAX_BLOCKS}"] if len(blocks) > MAX_BLOCKS else []
    for n, block in enumerate(blocks):
        where = f"blocks[{n}]"
        if not isinstance(block, dict):
            errors.append(f"{where} is not an object")
            continue
        kind = block.get("type")
        if not isinstance(kind, str) or not kind:
            errors.append(f"{where} has no 'type'")
        block_id = block.get("block_id")
        if block_id is not None and (not isinstance(block_id, str) or len(block_id) > MAX_BLOCK_ID):
            errors.append(f"{where}.block_id is not a string of at most {MAX_BLOCK_ID} characters")
        if kind == "section":
            errors.extend(_section_errors(block, where))
    return errors


def _section_errors(block: dict[str, Any], where: str) -> list[str]:
    if "text" not in block and "fields" not in block:
        return [f"{where}: a section needs 'text' or 'fields'"]
    errors: list[str] = []
    if "text" in block:
        errors.extend(_text_errors(block["text"], f"{where}.text", MAX_SECTION_TEXT))
    if "fields" in block:
        fields = block["fields"]
        if not isinstance(fields, list) or not 1 <= len(fields) <= MAX_FIELDS:
            errors.append(f"{where}.fields is not a list of 1..{MAX_FIELDS} text objects")
        else:
            for n, item in enumerate(fields):
                errors.extend(_text_errors(item, f"{where}.fields[{n}]", MAX_FIELD_TEXT))
    return errors


def _text_errors(value: Any, where: str, limit: int) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where} is not a text object"]
    errors = []
    if value.get("type") not in TEXT_TYPES:
        errors.append(f"{where}.type is {value.get('type')!r}, not one of {TEXT_TYPES}")
    text = value.get("text")
    if not isinstance(text, str) or not 1 <= len(text) <= limit:
        size = len(text) if isinstance(text, str) else type(text).__name__
        errors.append(f"{where}.text must have 1..{limit} characters (has {size})")
    return errors
