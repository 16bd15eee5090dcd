"""Keeps a message that cannot be read on the dead-letter queue (SQS), with the reason, so that a person
can look at it and redrive it once the cause is fixed. Retrying it would fail the same way.

SQS takes only some characters (#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to
#x10FFFF): a body with others (U+0000, most control characters, a lone surrogate from a JSON escape) is
kept as base64 of its UTF-8 bytes, with the attribute `encoding: base64` saying so. Keeping never
raises: the caller is told whether it worked and goes on with the rest of its batch.
"""

import base64
import re
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from runbook.observability import logger

MAX_BODY_BYTES = 250_000  # under SQS's 256 KiB message limit, with room for the attributes
MAX_REASON_CHARS = 256
# What SQS refuses in a message body or a String attribute (SendMessage's documented character set).
SQS_REFUSED = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
BASE64_NOTE = (
    "the body held characters SQS refuses: this is base64 of its UTF-8 bytes "
    "(lone surrogates as Python's surrogatepass writes them); decode it before redriving"
)


class DeadLetters:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def keep(self, body: str, reason: str) -> bool:
        """True when the message is on the queue. False when SQS could not be reached or refused it
        (logged with the reason, never the body): the caller decides what a lost copy means."""
        message_body, attributes = _sqs_message(body)
        attributes["reason"] = _text(SQS_REFUSED.sub("\ufffd", reason)[:MAX_REASON_CHARS])
        attributes["kept_by"] = _text("runbook-alert-intake")
        try:
            self._client.send_message(
                QueueUrl=self._queue_url, MessageBody=message_body, MessageAttributes=attributes
            )
        except (ClientError, BotoCoreError) as error:
            code = error.response.get("Error", {}).get("Code") if isinstance(error, ClientError) else None
            logger.error(
                "message not kept on the dead-letter queue",
                extra={"reason": reason[:MAX_REASON_CHARS], "error": code or type(error).__name__},
            )
            return False
        return True


def _sqs_message(body: str) -> tuple[str, dict[str, Any]]:
    """The body as SQS accepts it, and the attributes that say how it was kept."""
    if SQS_REFUSED.search(body) is None:
        data = body.encode("utf-8")
        truncated = len(data) > MAX_BODY_BYTES
        text = data[:MAX_BODY_BYTES].decode("utf-8", errors="ignore") if truncated else body
        return text, {"encoding": _text("text"), "truncated": _text(str(truncated).lower())}
    data = body.encode("utf-8", errors="surrogatepass")
    limit = MAX_BODY_BYTES // 4 * 3  # base64 makes 4 characters of every 3 bytes
    encoded = base64.b64encode(data[:limit]).decode("ascii")
    return encoded, {
        "encoding": _text("base64"),
        "note": _text(BASE64_NOTE),
        "truncated": _text(str(len(data) > limit).lower()),
    }


def _text(value: str) -> dict[str, str]:
    return {"DataType": "String", "StringValue": value}
