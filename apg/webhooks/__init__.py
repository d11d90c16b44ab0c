"""Inbound Safaricom callbacks: stored raw first, then parsed and applied at most once."""
