"""Fixtures shared by every test layer. Service fixtures live in tests/support and are registered here."""

pytest_plugins: list[str] = [
    "tests.support.aws",
    "tests.support.http_fixtures",
    "tests.support.service_fixtures",
]
