"""boto3 clients with explicit timeouts and bounded retries. Built on first use, never at import time.
Endpoints follow boto3's own AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> (moto in tests)."""

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

# A run is bounded by the Lambda deadline: an AWS call may not eat it. Standard mode retries
# throttling and transient errors, at most 3 attempts in all.
AWS_CALL_CONFIG = Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 3, "mode": "standard"})
# Probes (SQS queue depth) run in threads that cannot be cancelled: keep a hung call short so it gives
# its thread back soon after the check's own timeout.
PROBE_CALL_CONFIG = Config(connect_timeout=2, read_timeout=3, retries={"max_attempts": 2, "mode": "standard"})


@cache
def aws_client(service: str, region: str | None = None) -> Any:
    return boto3.session.Session().client(service, region_name=region, config=AWS_CALL_CONFIG)  # type: ignore[call-overload]


@cache
def probe_client(service: str, region: str | None = None) -> Any:
    return boto3.session.Session().client(service, region_name=region, config=PROBE_CALL_CONFIG)  # type: ignore[call-overload]
