"""Payments domain: the transaction, its state machine, and the services that move money."""
