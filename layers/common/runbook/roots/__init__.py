"""Composition roots: one per function, each building only what its function uses, once per cold start,
from the environment. A function's handler imports its own root, so a cold start imports only its own
path (the PagerDuty function never loads redis or psycopg)."""
