"""A customer's VM itself: its usage, and the browser console that reaches its screen."""
