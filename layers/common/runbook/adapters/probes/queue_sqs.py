"""Queue depth from SQS (GetQueueAttributes). boto3 is synchronous: the call runs in a worker thread."""

import asyncio
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from botocore import exceptions as bex

from runbook.adapters.probes.failures import exception_chain
from runbook.adapters.probes.queue_common import QueueCounts
from runbook.models.config import SqsQueueCheck
from runbook.models.observations import FailureKind

_ATTRIBUTES = [
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
]
_REGION = r"([a-z]{2}(?:-[a-z]+)+-\d+)"
# sqs.<region>.amazonaws.com[.cn], sqs-fips.<region>..., vpce-...sqs.<region>.vpce..., and look-alikes
# such as LocalStack's sqs.<region>.localhost.localstack.cloud; then the legacy <region>.queue.amazonaws.com.
_REGION_PATTERNS = (
    re.compile(rf"(?:^|\.)sqs(?:-fips)?\.{_REGION}\."),
    re.compile(rf"^{_REGION}\.queue\.amazonaws\.com(?:\.cn)?$"),
)
_AUTH_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidSecurity",
        "MissingAuthenticationToken",
        "KMS.AccessDeniedException",
    }
)


class QueueUrlError(Exception):
    """The queue URL does not say which region to call."""


# What the SQS read raises for an outside problem (anything else is a bug and propagates).
SQS_ERRORS = (bex.BotoCoreError, bex.ClientError, QueueUrlError)


def region_of(queue_url: str) -> str:
    host = (urlsplit(queue_url).hostname or "").lower()
    if host == "queue.amazonaws.com":  # the oldest form, us-east-1 only
        return "us-east-1"
    for pattern in _REGION_PATTERNS:
        match = pattern.search(host)
        if match:
            return match.group(1)
    raise QueueUrlError(
        f"cannot tell the AWS region from the queue URL host {host!r}; "
        "use the URL SQS gives: https://sqs.<region>.amazonaws.com/<account>/<queue>"
    )


def _get_attributes(factory: Callable[[str], Any], region: str, queue_url: str) -> dict[str, str]:
    client = factory(region)
    answer = client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=_ATTRIBUTES)
    attributes: dict[str, str] = answer.get("Attributes", {})
    return attributes


async def read_sqs(check: SqsQueueCheck, sqs_client: Callable[[str], Any]) -> QueueCounts:
    queue_url = str(check.queue_url)
    # Cancelling the await (check timeout) cannot stop the thread; the client's own connect/read timeouts
    # and retry limit bound it.
    attributes = await asyncio.to_thread(_get_attributes, sqs_client, region_of(queue_url), queue_url)
    visible = int(attributes.get("ApproximateNumberOfMessages", 0))
    not_visible = int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0))
    delayed = int(attributes.get("ApproximateNumberOfMessagesDelayed", 0))
    return QueueCounts(depth=visible, in_flight=not_visible, details={"delayed": delayed})


def aws_error_code(exc: BaseException) -> str | None:
    if isinstance(exc, bex.ClientError):
        code = exc.response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


def classify_sqs_error(exc: BaseException) -> FailureKind:
    """The FailureKind for an exception raised by the SQS call (by type and AWS error code)."""
    if isinstance(exc, QueueUrlError):
        return FailureKind.OTHER
    if isinstance(exc, bex.ClientError):
        # The service answered: bad credentials or permissions, or a queue that does not exist, ...
        return FailureKind.AUTH if aws_error_code(exc) in _AUTH_CODES else FailureKind.QUERY
    if isinstance(exc, bex.NoCredentialsError | bex.PartialCredentialsError):
        return FailureKind.AUTH
    if isinstance(exc, bex.ConnectTimeoutError | bex.ReadTimeoutError | TimeoutError):
        return FailureKind.TIMEOUT
    if isinstance(exc, bex.SSLError):
        return FailureKind.TLS
    if isinstance(exc, bex.EndpointConnectionError | bex.ConnectionClosedError):
        refused = any(isinstance(cause, ConnectionRefusedError) for cause in exception_chain(exc))
        return FailureKind.REFUSED if refused else FailureKind.CONNECTION
    return FailureKind.OTHER


def describe_sqs_error(exc: BaseException) -> str:
    """A sentence for the failure, led by the AWS error code where there is one."""
    code = aws_error_code(exc)
    if code is not None and isinstance(exc, bex.ClientError):
        message = exc.response.get("Error", {}).get("Message") or str(exc)
        return f"{code}: {message}"
    return str(exc) or type(exc).__name__
