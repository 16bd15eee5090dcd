"""Probes: one module per kind of target (adapters: they do the I/O). The registry is registry.py."""
