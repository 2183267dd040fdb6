"""Passkeys (WebAuthn) as a second factor (filled in next)."""
