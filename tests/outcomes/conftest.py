"""The outcome tests' cohort builder (shared with the browser test)."""

from tests.outcome_helpers import treated  # noqa: F401
