"""The test doubles that tests, benchmarks and the sandbox share: local PagerDuty, Statuspage and Slack
(each checks every request against its vendor's published spec and records what the vendor would
refuse), the loopback HTTP(S) servers the probes are pointed at, answers shaped like real APIs', the
Lambda context and handler loader of in-process invocations, and the state table as template.yaml
defines it.

Not deployed, and not a test: nothing here imports tests/ or needs pytest (the sandbox runs without).
The pytest fixtures around these classes live in tests/support. The vendors' OpenAPI documents are
data read from the checkout's tests/vendor/specs (scripts/vendor-shared puts them there), or from the
directory $PAGERDUTY_SPECS_DIR / $STATUSPAGE_SPECS_DIR names.
"""
