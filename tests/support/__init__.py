"""Test helpers: loopback servers, a shiftable clock, factories."""
