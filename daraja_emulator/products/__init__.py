"""Daraja products the emulator serves, one module (Flask blueprint) per product."""
