"""E-mail notices of referrals and transfer requests to organizations: no personal data,
a link only."""
