"""What the probes share to report a failure: the exceptions behind it, and a message fit for an alert."""

from collections.abc import Iterator

from runbook.adapters.probes.base import SecretLookup
from runbook.text import truncate


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and what caused it: client libraries wrap socket errors, explicitly or implicitly."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def failure_message(text: str, secrets: SecretLookup, limit: int) -> str:
    """One line, no secrets, bounded: a probe's message ends up in alerts."""
    return truncate(" ".join(secrets.scrub(text).split()), limit)
