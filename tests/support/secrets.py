"""Secrets for tests that do not exercise SSM/Secrets Manager themselves: the production lookup
(ResolvedSecrets, with its masking), filled with known values."""

from collections.abc import Mapping

from runbook.adapters.parameters import ResolvedSecrets
from runbook.models.secrets import SecretRef


class StaticSecrets(ResolvedSecrets):
    def __init__(self, values: Mapping[SecretRef, str] | None = None) -> None:
        super().__init__(values=dict(values or {}))
