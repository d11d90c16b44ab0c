"""Tenants (merchants), their API keys and their encrypted M-Pesa credentials."""
