"""Ops: health probes, stats, the callback log and Prometheus metrics."""
