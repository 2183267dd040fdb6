"""Offline intake: registering people without signal (SPEC §11.5, docs/api.md).

A phone seals each record in the browser under the server's public intake key and
keeps only the sealed record; this feature opens what phones send, registers it
through the normal path, and keeps what it cannot register for a person to fix.
"""
