"""References to secrets. The config never holds a secret itself, only where to fetch it at run time."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class SsmParameterRef(BaseModel):
    """`{ssm: /runbook/redis/password}`: an SSM parameter (SecureString decrypted)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    ssm: Annotated[str, Field(min_length=1, pattern=r"^(/|arn:)", description="Parameter name or ARN")]

    def describe(self) -> str:
        return f"ssm:{self.ssm}"


class SecretsManagerRef(BaseModel):
    """`{secret: prod/api-gateway, key: token}`: a Secrets Manager secret, optionally one key of its JSON."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    secret: Annotated[str, Field(min_length=1, description="Secret name or ARN")]
    key: Annotated[str | None, Field(default=None, description="Key to pick from a JSON secret")] = None

    def describe(self) -> str:
        return f"secret:{self.secret}" + (f"#{self.key}" if self.key else "")


SecretRef = SsmParameterRef | SecretsManagerRef
# Header values and similar: plain text, or a reference when the value is sensitive.
TextOrSecret = str | SecretRef


def find_secret_refs(value: object) -> list[SecretRef]:
    """Every secret reference inside a config model (nested models, dicts and lists included)."""
    if isinstance(value, SsmParameterRef | SecretsManagerRef):
        return [value]
    if isinstance(value, BaseModel):
        return [ref for name in type(value).model_fields for ref in find_secret_refs(getattr(value, name))]
    if isinstance(value, dict):
        return [ref for item in value.values() for ref in find_secret_refs(item)]
    if isinstance(value, list | tuple):
        return [ref for item in value for ref in find_secret_refs(item)]
    return []
