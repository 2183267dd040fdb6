"""The referral network fixtures, for API tests that cross features."""

from tests.referrals.conftest import child_case, network  # noqa: F401
