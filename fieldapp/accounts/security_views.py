"""The security page: second factors of one's own account (filled in next)."""
