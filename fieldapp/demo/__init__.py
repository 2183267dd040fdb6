"""The demo network of SPEC §10: invented organizations and users, never in production."""
