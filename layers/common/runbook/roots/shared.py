"""What more than one composition root builds: the secret resolver and the vendors' HTTP client."""

import httpx
from aws_lambda_powertools.utilities.parameters import SecretsProvider, SSMProvider

from runbook.adapters.aws_clients import aws_client
from runbook.adapters.parameters import SecretResolver


def secret_resolver() -> SecretResolver:
    return SecretResolver(
        SSMProvider(boto3_client=aws_client("ssm")),
        SecretsProvider(boto3_client=aws_client("secretsmanager")),
    )


def vendor_client() -> httpx.Client:
    # Each call's own timeout comes from the retry policy and the invocation's deadline; these are limits.
    return httpx.Client(timeout=httpx.Timeout(10.0), trust_env=False, follow_redirects=False)
