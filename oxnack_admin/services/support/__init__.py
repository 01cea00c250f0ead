"""Support inbox, newsletters and staff alerts."""
