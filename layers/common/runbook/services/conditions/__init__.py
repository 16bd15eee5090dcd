"""Conditions: pure functions that judge an observation. No I/O here, so they are tested without a network.

Each module exposes `evaluate(check, observation, state) -> CheckResult`.
"""
