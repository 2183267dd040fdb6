"""Case fixtures shared with the cases tests."""

from tests.cases.conftest import register  # noqa: F401
