"""Thin wrappers of the remote systems the jobs talk to (one place to adapt a wire format)."""
