"""Key operations on a running installation: rotate, verify, retire (and generate)."""
