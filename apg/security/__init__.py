"""Security: the event log, callback sources and rate limits."""
