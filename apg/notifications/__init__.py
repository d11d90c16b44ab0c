"""Merchant webhooks: the events of the outbox, the endpoints that hear them, their delivery."""
