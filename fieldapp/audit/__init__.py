"""Append-only audit events chained with an HMAC under a key kept outside the database."""
