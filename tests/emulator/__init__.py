"""Tests for the Daraja emulator (package so modules can share .support)."""
