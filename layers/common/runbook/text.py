"""Text helpers every layer may use (it imports nothing of the project)."""

import math


def truncate(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, the last of them "…" when anything was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def human_duration(seconds: float) -> str:
    """A duration as a person would say it: "45 s", "40 min", "1 h 20 min", "3 h", "2 d 4 h".

    Two units at most, the smaller one rounded to the nearest (so 59.6 s is "1 min", 3599 s is "1 h",
    and a duration in days is counted in whole hours). Negative durations (and NaN) are "0 s": a time
    already past; an infinite one is "forever"."""
    if math.isinf(seconds) and seconds > 0:
        return "forever"
    if not seconds > 0:
        return "0 s"
    if round(seconds) < 60:
        return f"{round(seconds)} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 24 * 60:
        hours, minutes = divmod(minutes, 60)
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(round(seconds / 3600), 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
