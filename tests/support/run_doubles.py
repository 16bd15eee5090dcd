"""What the scheduled services are given in tests besides real AWS (moto) and real targets: a reporter
that records, and a clock the test moves."""

from datetime import UTC, datetime
from typing import Any

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


class RecordingReporter:
    def __init__(self) -> None:
        self.results: list[Any] = []
        self.changes: list[Any] = []
        self.problems: list[tuple[str, dict[str, Any]]] = []

    def check_result(self, run: Any, change: Any = None) -> None:
        self.results.append(run.result)
        self.changes.append(change)

    def problem(self, message: str, **fields: Any) -> None:
        self.problems.append((message, fields))

    def config_problem(self, key: str, message: str, **fields: Any) -> None:
        self.problems.append((message, fields))


class Clock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now
