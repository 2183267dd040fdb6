"""Cases: registration, search, duplicates, editing, closure, erasure."""
