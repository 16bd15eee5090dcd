"""Slack incoming webhooks: one POST of a JSON message to the channel the webhook belongs to.

Slack answers 200 "ok", or an error code as plain text: 400 `invalid_payload` / `no_text`, 403
`action_prohibited`, 404 `no_service` / `channel_not_found`, 410 `channel_is_archived`, 429
`rate_limited` (with Retry-After; a webhook takes about one message per second). 429, 5xx and transport
failures are retried through http_retry within the caller's deadline (a `time.monotonic()` value); any
other answer is final: SlackRejectedError with the status and Slack's code.

The webhook URL is the credential: whoever has it can post. It is passed per call and kept nowhere; no
exception, repr or log line names it (http_retry's errors are re-issued with the path hidden, and
httpx's own "HTTP Request: POST <url>" log line is masked while a post is under way). Naming the
webhook ("the #ops-alerts webhook") is the caller's business.

Limits are Slack's: a message's text is cut to 40,000 characters (Slack would cut it silently), a
section's text to 3,000 (Slack refuses more), and at most 50 blocks are sent (the 50th says how many
more there were).
"""

import contextvars
import json
import logging
import random
import re
import time
from collections.abc import Callable
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, field_validator

from runbook.adapters.http_retry import DeliveryFailedError, RetryPolicy, send_with_retry
from runbook.text import truncate

__all__ = [
    "MAX_BLOCKS",
    "MAX_SECTION_TEXT",
    "MAX_TEXT",
    "DeliveryFailedError",
    "Section",
    "SlackError",
    "SlackMessage",
    "SlackRejectedError",
    "SlackWebhook",
    "TextObject",
    "escape",
    "section",
]

MAX_TEXT = 40_000  # Slack truncates a message's text beyond this
MAX_SECTION_TEXT = 3_000  # a section block's text; Slack refuses more
MAX_BLOCKS = 50  # per message
HIDDEN = "***"
_ERROR_CODE = re.compile(r"^[a-z0-9_]{1,64}$")  # Slack's codes: channel_not_found, rate_limited, ...
_DEFAULT_PORTS = {"http": 80, "https": 443}


# --- the message ------------------------------------------------------------------------------------


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)


def _visible(text: str) -> str:
    if not text.strip():
        raise ValueError("text is empty")  # Slack answers `no_text`, or refuses the block
    return text


class TextObject(_Frozen):
    """A Block Kit text object; its text is cut to MAX_SECTION_TEXT characters ("…" at the end)."""

    type: Literal["mrkdwn", "plain_text"] = "mrkdwn"
    text: str

    @field_validator("text")
    @classmethod
    def _cut(cls, text: str) -> str:
        return truncate(_visible(text), MAX_SECTION_TEXT)


class Section(_Frozen):
    """A Block Kit section block with text (build it with `section`)."""

    type: Literal["section"] = "section"
    text: TextObject


def section(text: str, *, markdown: bool = True) -> Section:
    """A section block showing `text` (Slack mrkdwn unless `markdown` is false), cut to 3,000 characters.
    Text from outside (check names, error messages) should go through `escape` first."""
    return Section(text=TextObject(type="mrkdwn" if markdown else "plain_text", text=text))


def escape(text: str) -> str:
    """`text` shown as is in mrkdwn: Slack's three control characters &, < and > escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SlackMessage(_Frozen):
    """What a webhook posts. `text` is required: it is the notification and the fallback for clients
    that cannot show blocks; cut to 40,000 characters. `blocks`: at most 50 are kept, the 50th then
    replaced by a section saying how many more were left out."""

    text: str
    blocks: tuple[Section, ...] = ()

    @field_validator("text")
    @classmethod
    def _cut_text(cls, text: str) -> str:
        return truncate(_visible(text), MAX_TEXT)

    @field_validator("blocks")
    @classmethod
    def _cut_blocks(cls, blocks: tuple[Section, ...]) -> tuple[Section, ...]:
        if len(blocks) <= MAX_BLOCKS:
            return blocks
        left_out = len(blocks) - (MAX_BLOCKS - 1)
        return (*blocks[: MAX_BLOCKS - 1], section(f"… and {left_out} more not shown", markdown=False))

    def to_body(self) -> dict[str, Any]:
        """The JSON body Slack takes: text, and blocks when there are any."""
        body: dict[str, Any] = {"text": self.text}
        if self.blocks:
            body["blocks"] = [block.model_dump(mode="json") for block in self.blocks]
        return body


# --- errors -----------------------------------------------------------------------------------------


class SlackError(Exception):
    """Slack answered, and not with "ok". Messages never hold the webhook URL."""


class SlackRejectedError(SlackError):
    """The webhook refused the message (a 4xx other than 429, or another final answer): posting it
    again will not help. `code` is Slack's error code (`channel_is_archived`, `no_service`, ...) when
    the answer carried one."""

    def __init__(self, status: int, code: str | None) -> None:
        super().__init__(f"Slack webhook rejected the message (HTTP {status}: {code or 'no error code'})")
        self.status = status
        self.code = code


# --- the adapter ------------------------------------------------------------------------------------

# Set while a post is under way in this thread or task: httpx's log lines then hide the URL.
_posting: contextvars.ContextVar[bool] = contextvars.ContextVar("runbook_slack_posting", default=False)


class _HideWebhookUrls(logging.Filter):
    """httpx logs every request's URL at INFO; a webhook URL is a credential, so while a post is under
    way every URL in an httpx record is replaced by its scheme and host."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _posting.get() and isinstance(record.args, tuple):
            record.args = tuple(_hidden(arg) if isinstance(arg, httpx.URL) else arg for arg in record.args)
        return True


_HTTPX_FILTER = _HideWebhookUrls()
_httpx_logger = logging.getLogger("httpx")
if not any(isinstance(f, _HideWebhookUrls) for f in _httpx_logger.filters):
    _httpx_logger.addFilter(_HTTPX_FILTER)


class SlackWebhook:
    """Posts messages to incoming webhooks through one client. The URL is given to each `post`."""

    def __init__(
        self,
        client: httpx.Client,
        policy: RetryPolicy,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._client = client
        self._policy = policy
        self._sleep = sleep
        self._clock = clock
        self._rng = rng

    def __repr__(self) -> str:
        return f"SlackWebhook(max_attempts={self._policy.max_attempts})"

    def post(self, webhook_url: str, message: SlackMessage, deadline: float) -> None:
        """Posts `message`; returns when Slack accepted it (2xx). SlackRejectedError for a final refusal
        (never retried); DeliveryFailedError when 429/5xx/transport failures outlast the retries or the
        deadline; ValueError when `webhook_url` is not an http(s) URL. None of them names the URL."""
        url = _parse(webhook_url)
        target = f"POST {_hidden(url)}"
        request = self._client.build_request(
            "POST",
            url,
            content=json.dumps(message.to_body(), separators=(",", ":"), ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        failure: DeliveryFailedError | None = None
        token = _posting.set(True)
        try:
            response = send_with_retry(
                self._client,
                request,
                deadline=deadline,
                policy=self._policy,
                sleep=self._sleep,
                clock=self._clock,
                rng=self._rng,
            )
        except DeliveryFailedError as error:
            failure = error
        finally:
            _posting.reset(token)
        if failure is not None:
            # Raised outside the handler, so the original (whose target holds the path) is not chained.
            raise DeliveryFailedError(
                target, failure.attempts, failure.last_status, failure.last_error, failure.reason
            )
        if response.is_success:
            return
        raise SlackRejectedError(response.status_code, _error_code(response))


def _parse(webhook_url: str) -> httpx.URL:
    problem: str | None = None
    try:
        url = httpx.URL(webhook_url)
    except (httpx.InvalidURL, TypeError, ValueError):
        problem = "the Slack webhook URL cannot be read"
    else:
        if url.scheme not in _DEFAULT_PORTS or not url.host:
            problem = "the Slack webhook URL is not an absolute http(s) URL"
    if problem is not None:
        raise ValueError(problem)  # outside the handler: httpx's message may quote the URL
    return url


def _hidden(url: httpx.URL) -> str:
    """scheme://host:port/*** : what may be said of a webhook URL."""
    host = f"[{url.host}]" if ":" in url.host else url.host
    port = url.port or _DEFAULT_PORTS.get(url.scheme, 0)
    return f"{url.scheme}://{host}:{port}/{HIDDEN}"


def _error_code(response: httpx.Response) -> str | None:
    """Slack's error code: the plain-text body (`channel_is_archived`), or `error` of a JSON body. Only
    something shaped like a code is kept: a body is never quoted."""
    text = response.content[:512].decode("utf-8", errors="replace").strip()
    if _ERROR_CODE.match(text):
        return text
    if text.startswith("{"):
        try:
            document = json.loads(response.content)
        except (ValueError, RecursionError):
            return None
        code = document.get("error") if isinstance(document, dict) else None
        if isinstance(code, str) and _ERROR_CODE.match(code):
            return code
    return None
