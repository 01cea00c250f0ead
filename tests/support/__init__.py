"""Helpers for the test suite: the real servers it runs on, and row factories."""
