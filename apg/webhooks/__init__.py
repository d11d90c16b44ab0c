"""Inbound Safaricom callbacks: stored raw first, then parsed and applied at most once."""

from apg.notifications.signing import verify_signature as verify_signature
