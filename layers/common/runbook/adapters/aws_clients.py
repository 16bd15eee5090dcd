"""boto3 clients with explicit timeouts and bounded retries. Built on first use, never at import time.
Endpoints follow boto3's own AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> (moto in tests)."""

import os
import threading
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3
from botocore import exceptions as bex
from botocore.config import Config

# A run is bounded by the Lambda deadline: an AWS call may not eat it. Standard mode retries
# throttling and transient errors, at most 3 attempts in all.
AWS_CALL_CONFIG = Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 3, "mode": "standard"})
# Probes (SQS queue depth) run in threads that cannot be cancelled: keep a hung call short so it gives
# its thread back soon after the check's own timeout.
PROBE_CALL_CONFIG = Config(connect_timeout=2, read_timeout=3, retries={"max_attempts": 2, "mode": "standard"})


@dataclass(frozen=True)
class AwsSetupProblem:
    """Why no AWS call can be made from here: `what` for each check it stops, `fix` for the person."""

    what: str
    fix: str

    def __str__(self) -> str:
        return f"{self.what}: {self.fix}"


NO_REGION = AwsSetupProblem(
    "no AWS region", "set AWS_REGION (or AWS_DEFAULT_REGION, or `region` in ~/.aws/config)"
)
NO_CREDENTIALS = AwsSetupProblem(
    "no AWS credentials",
    "set AWS_PROFILE (after `aws configure` or `aws sso login`), or AWS_ACCESS_KEY_ID and "
    "AWS_SECRET_ACCESS_KEY",
)


def aws_region(region: str | None = None) -> str | None:
    """The region a client is built for. AWS_REGION first, as the AWS SDKs and CLI v2 read it (and
    Lambda sets it); botocore itself reads only AWS_DEFAULT_REGION and the profile, its fallback here."""
    return region or os.environ.get("AWS_REGION") or None


# botocore sessions are not thread-safe, and probes may build a client from a worker thread.
_SESSION_LOCK = threading.Lock()


@cache
def shared_session() -> boto3.session.Session:
    """One session per cold start: a session of its own per client read botocore's endpoint and
    service data again each time (about 90 ms a client)."""
    return boto3.session.Session()


def _client(service: str, region: str | None, config: Config) -> Any:
    with _SESSION_LOCK:
        return shared_session().client(  # type: ignore[call-overload]
            service, region_name=aws_region(region), config=config
        )


@cache
def aws_client(service: str, region: str | None = None) -> Any:
    return _client(service, region, AWS_CALL_CONFIG)


@cache
def probe_client(service: str, region: str | None = None) -> Any:
    return _client(service, region, PROBE_CALL_CONFIG)


def aws_setup_problem() -> AwsSetupProblem | None:
    """Why no AWS call can be made from here (no region, no credentials); None when both are there.
    Credentials are looked up as a client would (environment, profile, SSO cache, container or
    instance metadata), never printed."""
    try:
        session = boto3.session.Session()
        if aws_region(session.region_name) is None:
            return NO_REGION
        if session.get_credentials() is None:
            return NO_CREDENTIALS
    except bex.BotoCoreError as error:  # a profile that does not exist, an SSO token that expired, ...
        return AwsSetupProblem("the AWS configuration cannot be used", str(error))
    return None
