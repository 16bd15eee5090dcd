"""An in-memory SecretLookup for tests that do not exercise SSM/Secrets Manager themselves."""

from runbook.models.secrets import SecretRef


class StaticSecrets:
    def __init__(self, values: dict[SecretRef, str] | None = None) -> None:
        self._values = dict(values or {})

    def value(self, ref: SecretRef) -> str:
        try:
            return self._values[ref]
        except KeyError:
            raise KeyError(f"no test value for {ref.describe()}") from None

    def scrub(self, text: str) -> str:
        for secret in self._values.values():
            if secret:
                text = text.replace(secret, "***")
        return text
