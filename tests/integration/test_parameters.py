"""Secret references through Powertools Parameters against SSM and Secrets Manager (moto)."""

import json

import pytest
from aws_lambda_powertools.utilities.parameters import SecretsProvider, SSMProvider

from runbook.adapters.parameters import SecretResolver, SecretUnavailableError
from runbook.models.secrets import SecretsManagerRef, SsmParameterRef


@pytest.fixture
def resolver(aws):
    aws.ssm.put_parameter(Name="/runbook/redis/password", Value="s3cr3t-redis", Type="SecureString")
    aws.secretsmanager.create_secret(Name="runbook/api", SecretString=json.dumps({"token": "tok-123456"}))
    aws.secretsmanager.create_secret(Name="runbook/plain", SecretString="plain-value")
    return SecretResolver(SSMProvider(boto3_client=aws.ssm), SecretsProvider(boto3_client=aws.secretsmanager))


def test_resolves_ssm_secret_and_json_key(resolver):
    assert resolver.resolve(SsmParameterRef(ssm="/runbook/redis/password")) == "s3cr3t-redis"
    assert resolver.resolve(SecretsManagerRef(secret="runbook/api", key="token")) == "tok-123456"
    assert resolver.resolve(SecretsManagerRef(secret="runbook/plain")) == "plain-value"


def test_values_are_cached_between_runs(resolver, aws):
    ref = SsmParameterRef(ssm="/runbook/redis/password")
    resolver.resolve(ref)
    aws.ssm.put_parameter(
        Name="/runbook/redis/password", Value="rotated", Type="SecureString", Overwrite=True
    )
    assert resolver.resolve(ref) == "s3cr3t-redis"


def test_failures_name_the_reference_never_a_value(resolver):
    resolved = resolver.resolve_all(
        [
            SsmParameterRef(ssm="/runbook/missing"),
            SecretsManagerRef(secret="runbook/api", key="nope"),
            SecretsManagerRef(secret="runbook/plain", key="token"),
            SecretsManagerRef(secret="runbook/api", key="token"),
        ]
    )
    assert resolved.value(SecretsManagerRef(secret="runbook/api", key="token")) == "tok-123456"
    errors = list(resolved.errors.values())
    assert "ssm:/runbook/missing" in errors[0]
    assert "has no key 'nope'" in errors[1]
    assert "not a JSON object" in errors[2]
    assert not any("tok-123456" in e or "plain-value" in e for e in errors)
    with pytest.raises(SecretUnavailableError, match="ssm:/runbook/missing"):
        resolved.value(SsmParameterRef(ssm="/runbook/missing"))


def test_scrub_masks_every_resolved_value(resolver):
    resolved = resolver.resolve_all([SecretsManagerRef(secret="runbook/api", key="token")])
    assert resolved.scrub("auth failed for token tok-123456 at host") == "auth failed for token *** at host"
