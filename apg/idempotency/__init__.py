"""Idempotency keys: a unique row per (tenant, key) claims a request before it runs."""
