"""Ops endpoints: health now; stats and metrics come with the outbox issue."""
