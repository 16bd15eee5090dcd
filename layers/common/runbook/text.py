"""Text helpers every layer may use (it imports nothing of the project)."""


def truncate(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, the last of them "…" when anything was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
