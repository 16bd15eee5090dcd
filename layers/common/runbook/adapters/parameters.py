"""Secret references resolved at run time through Powertools Parameters, cached between invocations."""

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus

from aws_lambda_powertools.utilities.parameters import SecretsProvider, SSMProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError

from runbook.models.secrets import SecretRef, SecretsManagerRef, SsmParameterRef

CACHE_SECONDS = 300  # a rotated secret is picked up within 5 minutes
MASK = "***"
MIN_SCRUB_LENGTH = 4  # masking one- to three-character values would garble every message


class SecretUnavailableError(Exception):
    """A reference could not be resolved. The message names the reference, never a value."""


class SecretResolver:
    def __init__(self, ssm: SSMProvider, secrets: SecretsProvider, max_age: int = CACHE_SECONDS) -> None:
        self._ssm = ssm
        self._secrets = secrets
        self._max_age = max_age

    def resolve(self, ref: SecretRef) -> str:
        try:
            if isinstance(ref, SsmParameterRef):
                return str(self._ssm.get(ref.ssm, max_age=self._max_age, decrypt=True))
            return self._secret(ref)
        except GetParameterError as error:
            raise SecretUnavailableError(f"cannot read {ref.describe()}: {error}") from None

    def resolve_all(self, refs: Iterable[SecretRef]) -> "ResolvedSecrets":
        resolved = ResolvedSecrets()
        for ref in dict.fromkeys(refs):
            try:
                resolved.values[ref] = self.resolve(ref)
            except SecretUnavailableError as error:
                resolved.errors[ref] = str(error)
        return resolved

    def _secret(self, ref: SecretsManagerRef) -> str:
        if ref.key is None:
            return str(self._secrets.get(ref.secret, max_age=self._max_age))
        try:
            document: Any = self._secrets.get(ref.secret, max_age=self._max_age, transform="json")
        except TransformParameterError:
            document = None  # the transform's message may quote the secret: say it in our words
        if not isinstance(document, dict):
            raise SecretUnavailableError(
                f"{ref.describe()}: the secret is not a JSON object, so it has no keys"
            )
        if ref.key not in document:
            raise SecretUnavailableError(f"{ref.describe()}: the secret has no key {ref.key!r}")
        value = document[ref.key]
        return value if isinstance(value, str) else json.dumps(value)


@dataclass
class ResolvedSecrets:
    """The SecretLookup probes use: values resolved before the run, plus why the others failed."""

    values: dict[SecretRef, str] = field(default_factory=dict)
    errors: dict[SecretRef, str] = field(default_factory=dict)

    def value(self, ref: SecretRef) -> str:
        if ref in self.values:
            return self.values[ref]
        raise SecretUnavailableError(
            self.errors.get(ref, f"{ref.describe()} was not resolved before the run")
        )

    def scrub(self, text: str) -> str:
        # Also as sent in a URL or form (percent-encoded): a server may echo a query credential back.
        forms = {
            form
            for secret in self.values.values()
            for form in (secret, quote(secret, safe=""), quote_plus(secret))
        }
        for form in sorted(forms, key=len, reverse=True):
            if len(form) >= MIN_SCRUB_LENGTH:
                text = text.replace(form, MASK)
        return text
