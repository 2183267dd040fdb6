"""E-mail notices of referrals to organizations: no personal data, a link only."""
