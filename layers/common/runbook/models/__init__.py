"""Models that describe: config, observations, results, state, alerts, events."""
