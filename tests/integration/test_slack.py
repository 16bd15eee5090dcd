"""The Slack webhook adapter against the local receiver (every body checked as Slack would), the retry
arithmetic with a fake clock, and the webhook URL (a credential) kept out of errors, reprs and logs.
No test waits for real except the one about a real timeout."""

import logging
import re
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from pydantic import ValidationError

from runbook.adapters.http_retry import DeliveryFailedError, RetryPolicy
from runbook.adapters.slack import (
    MAX_BLOCKS,
    MAX_SECTION_TEXT,
    MAX_TEXT,
    SlackMessage,
    SlackRejectedError,
    SlackWebhook,
    escape,
    section,
)
from standins.slack_receiver import SlackReceiver
from tests.support import fake_time as fake_clock
from tests.support import standin_fixtures
from tests.support.fake_time import FakeTime

slack = standin_fixtures.slack  # the fixture: a started receiver, refused messages fail the test
fake_time = fake_clock.fake_time  # the fixture: a FakeTime at 1000.0
http = fake_clock.http  # the fixture: an httpx.Client

POLICY = RetryPolicy(max_attempts=4, base_s=0.5, cap_s=8.0, attempt_timeout_s=5.0, min_attempt_s=0.2)
OPS = "ops-alerts"
ROOM = "incident-room"


@pytest.fixture
def webhook(http: httpx.Client, fake_time: FakeTime) -> SlackWebhook:
    return SlackWebhook(http, POLICY, sleep=fake_time.sleep, clock=fake_time.monotonic, rng=lambda: 0.5)


def message(text: str = "api is DOWN", *blocks: str) -> SlackMessage:
    return SlackMessage(text=text, blocks=tuple(section(block) for block in blocks))


def secret_of(url: str) -> str:
    """What must never show: the path (team, hook and token)."""
    path = httpx.URL(url).path
    assert path.startswith("/services/")
    return path


def texts_of(error: BaseException) -> Iterator[str]:
    """Everything an error says, along its causes and contexts."""
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield str(current)
        yield repr(current)
        yield repr(current.args)
        yield repr(vars(current))
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)


def assert_hidden(secret: str, error: BaseException) -> None:
    for text in texts_of(error):
        assert secret not in text


# --- posting ----------------------------------------------------------------------------------------


def test_a_message_reaches_its_channel_with_text_and_blocks(slack, webhook, fake_time):
    webhook.post(
        slack.url(OPS), message("api is DOWN", "*api* is DOWN since 12:00", "runbook: restart"), 1010
    )
    assert slack.messages(OPS) == [
        {
            "text": "api is DOWN",
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": "*api* is DOWN since 12:00"}},
                {"type": "section", "text": {"type": "mrkdwn", "text": "runbook: restart"}},
            ],
        }
    ]
    assert slack.messages(ROOM) == []
    (request,) = slack.received(OPS)
    assert request.headers["content-type"].startswith("application/json")
    assert fake_time.sleeps == []


def test_messages_to_two_channels_stay_apart_and_in_order(slack, webhook, fake_time):
    for n in range(3):
        webhook.post(slack.url(OPS), message(f"ops {n}"), fake_time.now + 10)
    webhook.post(
        slack.url(ROOM), SlackMessage(text="SEV1 declared", blocks=(section("plain", markdown=False),)), 1010
    )
    assert [m["text"] for m in slack.messages(OPS)] == ["ops 0", "ops 1", "ops 2"]
    assert slack.messages(ROOM) == [
        {
            "text": "SEV1 declared",
            "blocks": [{"type": "section", "text": {"type": "plain_text", "text": "plain"}}],
        }
    ]
    assert "blocks" not in slack.messages(OPS)[0]


def test_long_texts_are_cut_to_slacks_limits(slack, webhook):
    long = SlackMessage(text="x" * (MAX_TEXT + 500), blocks=(section("y" * (MAX_SECTION_TEXT + 1)),))
    assert len(long.text) == MAX_TEXT
    assert long.text.endswith("…")
    assert len(long.blocks[0].text.text) == MAX_SECTION_TEXT
    assert long.blocks[0].text.text.endswith("…")
    webhook.post(slack.url(OPS), long, 1010)
    (received,) = slack.messages(OPS)
    assert len(received["text"]) == MAX_TEXT
    assert len(received["blocks"][0]["text"]["text"]) == MAX_SECTION_TEXT


def test_more_than_50_blocks_keep_49_and_say_how_many_were_left_out(slack, webhook):
    many = message("many checks DOWN", *(f"check {n}" for n in range(60)))
    assert len(many.blocks) == MAX_BLOCKS
    assert many.blocks[-2].text.text == "check 48"
    assert many.blocks[-1].text.text == "… and 11 more not shown"
    webhook.post(slack.url(OPS), many, 1010)
    assert len(slack.messages(OPS)[0]["blocks"]) == MAX_BLOCKS
    exactly = message("fifty", *(f"check {n}" for n in range(MAX_BLOCKS)))
    assert exactly.blocks[-1].text.text == "check 49"


@pytest.mark.parametrize("text", ["", "  \n"])
def test_an_empty_text_is_refused_before_anything_is_sent(text):
    with pytest.raises(ValidationError):
        SlackMessage(text=text)
    with pytest.raises(ValidationError):
        section(text)


def test_a_message_is_frozen_and_escape_keeps_slack_control_characters_literal():
    frozen = message("a")
    with pytest.raises(ValidationError):
        frozen.text = "b"  # type: ignore[misc]
    assert escape("<!channel> a & b > c") == "&lt;!channel&gt; a &amp; b &gt; c"


# --- retries ----------------------------------------------------------------------------------------


def test_a_429_with_retry_after_is_waited_out_then_posted(slack, webhook, fake_time):
    slack.fail_next(OPS, 429, headers={"Retry-After": "3"})
    webhook.post(slack.url(OPS), message(), fake_time.now + 30)
    assert fake_time.sleeps == [3.0]  # the hint, longer than the backoff (0.25)
    assert [(r.status, r.answer) for r in slack.received(OPS)] == [(429, "rate_limited"), (200, "ok")]
    assert len(slack.messages(OPS)) == 1


def test_500_twice_then_posted_with_backoff(slack, webhook, fake_time):
    slack.fail_next(OPS, 500, times=2)
    webhook.post(slack.url(OPS), message(), fake_time.now + 30)
    assert fake_time.sleeps == [0.25, 0.5]  # rng 0.5 of base 0.5 * 2**(n-1)
    assert [r.status for r in slack.received(OPS)] == [500, 500, 200]
    assert len(slack.messages(OPS)) == 1


def test_5xx_until_the_retries_run_out_is_a_delivery_failure(slack, webhook, fake_time):
    url = slack.url(OPS)
    slack.fail_next(OPS, 503, times=POLICY.max_attempts)
    with pytest.raises(DeliveryFailedError) as caught:
        webhook.post(url, message(), fake_time.now + 60)
    error = caught.value
    assert (error.attempts, error.last_status, error.reason) == (4, 503, "retries exhausted")
    assert error.target == f"POST {httpx.URL(url).scheme}://127.0.0.1:{httpx.URL(url).port}/***"
    assert len(fake_time.sleeps) == 3
    assert slack.messages(OPS) == []
    assert_hidden(secret_of(url), error)


def test_the_receivers_rate_limit_is_honoured(slack, webhook, fake_time):
    slack.clock = fake_time.monotonic
    slack.limit_rate(OPS, per_second=1.0)
    webhook.post(slack.url(OPS), message("first"), fake_time.now + 30)
    webhook.post(slack.url(OPS), message("second"), fake_time.now + 30)
    assert fake_time.sleeps == [1.0]
    assert [r.status for r in slack.received(OPS)] == [200, 429, 200]
    assert [m["text"] for m in slack.messages(OPS)] == ["first", "second"]


# --- final refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code"),
    [(404, "channel_not_found"), (410, "channel_is_archived"), (403, "action_prohibited"), (400, "no_text")],
)
def test_a_refusal_is_reported_with_slacks_code_and_not_retried(slack, webhook, fake_time, status, code):
    url = slack.url(OPS)
    slack.fail_next(OPS, status, times=5, code=code if status == 400 else None)
    with pytest.raises(SlackRejectedError) as caught:
        webhook.post(url, message(), fake_time.now + 30)
    assert (caught.value.status, caught.value.code) == (status, code)
    assert str(caught.value) == f"Slack webhook rejected the message (HTTP {status}: {code})"
    assert len(slack.received(OPS)) == 1
    assert fake_time.sleeps == []
    assert_hidden(secret_of(url), caught.value)


def test_an_unknown_webhook_is_no_service(slack, webhook):
    url = slack.base_url + "/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"
    with pytest.raises(SlackRejectedError) as caught:
        webhook.post(url, message(), 1010)
    assert (caught.value.status, caught.value.code) == (404, "no_service")
    assert [(r.channel, r.status) for r in slack.received()] == [(None, 404)]
    assert_hidden("XXXXXXXXXXXXXXXXXXXXXXXX", caught.value)


def _answering(status: int, content: bytes) -> SlackWebhook:
    transport = httpx.MockTransport(lambda request: httpx.Response(status, content=content))
    return SlackWebhook(httpx.Client(transport=transport), POLICY, sleep=lambda s: None)


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"invalid_token\n", "invalid_token"),
        (b'{"ok":false,"error":"invalid_blocks"}', "invalid_blocks"),
        (b"Not Found: https://hooks.slack.com/services/T0/B0/SECRET", None),
        (b"", None),
        (b"\xff\xfe", None),
    ],
)
def test_only_a_code_shaped_answer_is_taken_as_slacks_code(content, code):
    with pytest.raises(SlackRejectedError) as caught:
        _answering(400, content).post("https://hooks.slack.com/services/T0/B0/SECRET", message(), 1e12)
    assert caught.value.code == code
    assert_hidden("SECRET", caught.value)


# --- the deadline -----------------------------------------------------------------------------------


def test_nothing_is_sent_past_the_deadline(slack, webhook, fake_time):
    with pytest.raises(DeliveryFailedError) as caught:
        webhook.post(slack.url(OPS), message(), fake_time.now + 0.1)  # less than min_attempt_s
    assert (caught.value.attempts, caught.value.reason) == (0, "deadline reached")
    assert slack.received() == []


def test_a_retry_after_beyond_the_deadline_stops_at_once(slack, webhook, fake_time):
    slack.fail_next(OPS, 429, headers={"Retry-After": "5"})
    with pytest.raises(DeliveryFailedError) as caught:
        webhook.post(slack.url(OPS), message(), fake_time.now + 3)
    assert (caught.value.attempts, caught.value.last_status) == (1, 429)
    assert caught.value.reason == "deadline reached: no time for another attempt"
    assert fake_time.sleeps == []
    assert slack.messages(OPS) == []


def test_waits_never_end_past_the_deadline(slack, http, fake_time):
    patient = RetryPolicy(max_attempts=20, base_s=0.5, cap_s=8.0, attempt_timeout_s=5.0, min_attempt_s=0.2)
    webhook = SlackWebhook(http, patient, sleep=fake_time.sleep, clock=fake_time.monotonic, rng=lambda: 1.0)
    slack.fail_next(OPS, 500, times=20)
    deadline = fake_time.now + 4.0
    with pytest.raises(DeliveryFailedError) as caught:
        webhook.post(slack.url(OPS), message(), deadline)
    assert fake_time.sleeps == [0.5, 1.0, 2.0]  # the next (4.0) would end past the deadline
    assert fake_time.now + patient.min_attempt_s <= deadline
    assert (caught.value.attempts, caught.value.last_status) == (4, 500)


def test_a_slow_webhook_times_out_each_attempt_for_real(slack):
    policy = RetryPolicy(max_attempts=2, base_s=0.0, cap_s=0.0, attempt_timeout_s=0.2, min_attempt_s=0.05)
    slack.delay(OPS, 2.0)
    started = time.monotonic()
    with httpx.Client() as client, pytest.raises(DeliveryFailedError) as caught:
        SlackWebhook(client, policy).post(slack.url(OPS), message(), started + 5)
    assert time.monotonic() - started < 1.5
    assert (caught.value.attempts, caught.value.last_error) == (2, "ReadTimeout")
    assert_hidden(secret_of(slack.url(OPS)), caught.value)


# --- the URL is a secret ----------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_a_refused_connection_is_reported_without_the_url(webhook, fake_time, caplog):
    url = f"http://127.0.0.1:{_closed_port()}/services/T0SECRET/B0SECRET/hunter2hunter2hunter2hun"
    with caplog.at_level(logging.DEBUG), pytest.raises(DeliveryFailedError) as caught:
        webhook.post(url, message(), fake_time.now + 30)
    assert (caught.value.attempts, caught.value.last_error) == (4, "ConnectError")
    assert_hidden(secret_of(url), caught.value)
    assert_hidden("hunter2", caught.value)
    assert all("hunter2" not in record.getMessage() for record in caplog.records)


def test_the_webhook_url_never_shows_in_logs_or_reprs(slack, webhook, fake_time, caplog):
    url = slack.url(OPS)
    secret = secret_of(url)
    with caplog.at_level(logging.DEBUG):
        webhook.post(url, message(), fake_time.now + 30)
        slack.fail_next(OPS, 410)
        with pytest.raises(SlackRejectedError):
            webhook.post(url, message(), fake_time.now + 30)
    lines = [record.getMessage() for record in caplog.records]
    assert any(line.startswith("HTTP Request: POST") and "/***" in line for line in lines)
    assert all(secret not in line for line in lines)
    assert secret not in repr(webhook)
    assert secret not in repr(message())


def test_httpx_still_logs_other_urls_in_full(slack, http, caplog):
    with caplog.at_level(logging.INFO, logger="httpx"):
        http.get(slack.base_url + "/elsewhere")
    assert any("/elsewhere" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.slack.com/services/T0/B0/SECRETSECRET",
        "/services/T0/B0/SECRETSECRET",
        "https:///services/T0/B0/SECRETSECRET",
        "https://[::1/services/T0/B0/SECRETSECRET",
    ],
)
def test_a_url_that_is_not_http_is_refused_without_quoting_it(webhook, url):
    with pytest.raises(ValueError, match="Slack webhook URL") as caught:
        webhook.post(url, message(), 1010)
    assert_hidden("SECRETSECRET", caught.value)


# --- the receiver -----------------------------------------------------------------------------------


def test_each_channel_has_its_own_slack_shaped_url(slack):
    ops, room = slack.url(OPS), slack.url(ROOM)
    assert ops == slack.url(OPS)
    assert ops != room
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/services/T[A-Z0-9]{8}/B[A-Z0-9]{10}/[A-Za-z0-9]{24}", ops)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"blocks": [{"type": "divider"}]}, "no_text"),
        ({"text": ""}, "no_text"),
        ({"text": 5}, "invalid_payload"),
        ({"text": "t" * (MAX_TEXT + 1)}, "invalid_payload"),
        ({"text": "t", "blocks": {"type": "section"}}, "invalid_payload"),
        ({"text": "t", "blocks": [{"type": "divider"}] * (MAX_BLOCKS + 1)}, "invalid_payload"),
        ({"text": "t", "blocks": [{"text": {"type": "mrkdwn", "text": "no type"}}]}, "invalid_payload"),
        ({"text": "t", "blocks": [{"type": "section"}]}, "invalid_payload"),
        (
            {"text": "t", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "s" * 3001}}]},
            "invalid_payload",
        ),
        (
            {"text": "t", "blocks": [{"type": "section", "text": {"type": "html", "text": "s"}}]},
            "invalid_payload",
        ),
        ([{"text": "t"}], "invalid_payload"),
    ],
)
def test_the_receiver_refuses_what_slack_refuses(slack: SlackReceiver, http, body, code):
    response = http.post(slack.url(OPS), json=body)
    assert (response.status_code, response.text) == (400, code)
    (violation,) = slack.take_violations()
    assert (violation.channel, violation.status, violation.code) == (OPS, 400, code)
    assert slack.messages(OPS) == []


def test_the_receiver_refuses_what_is_not_a_json_post(slack: SlackReceiver, http):
    url = slack.url(OPS)
    assert (
        http.post(url, content=b"payload=%7B%7D", headers={"Content-Type": "text/plain"}).status_code == 400
    )
    assert http.post(url, content=b"{", headers={"Content-Type": "application/json"}).status_code == 400
    assert http.get(url).status_code == 400
    assert len(slack.take_violations()) == 3


def test_the_receiver_takes_a_valid_message_with_fields_and_other_blocks(slack: SlackReceiver, http):
    body = {
        "text": "t",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "SEV1"}},
            {
                "type": "section",
                "fields": [{"type": "mrkdwn", "text": "*api*"}, {"type": "plain_text", "text": "DOWN"}],
            },
            {"type": "divider", "block_id": "d1"},
        ],
        "unfurl_links": False,
    }
    response = http.post(slack.url(OPS), json=body)
    assert (response.status_code, response.text) == (200, "ok")
    assert slack.messages(OPS) == [body]


def test_the_receiver_fails_the_test_when_a_violation_is_left(http):
    receiver = SlackReceiver().start()
    try:
        http.post(receiver.url(OPS), json={"text": ""})
    finally:
        receiver.close()
    with pytest.raises(pytest.fail.Exception, match="messages Slack would refuse"):
        standin_fixtures.fail_on_slack_violations(receiver)
