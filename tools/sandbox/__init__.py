"""runbook-sandbox (`make run`): the whole chain on this machine, with no AWS account and no Docker.

    make run                                   # = runbook-sandbox: sam build (cached), then the scenario
    runbook-sandbox [--ticks N] [--tick-seconds S] [--json] [--template BUILT] [--build-cache DIR]
    runbook-sandbox --config my-runbook.yaml --env-file env.sandbox.json [--ticks N] [--json]

It starts, on 127.0.0.1: a local AWS (moto: the template's state table, its SNS topic, the dead-letter
queue, the secrets in SSM and Secrets Manager), local targets, and the PagerDuty, Statuspage and Slack
stand-ins the tests use too (they check every request against the vendors' published specs). Then it
drives the functions of the built template (`sam build`, this machine's architecture) with localrun,
each in its own interpreter as Lambda runs it:

    schedule ticks -> HealthProbeFunction / QuotaCheckFunction -> AlertsTopic (read back from an SQS
    queue subscribed in moto: the SNS envelope with its MessageAttributes) -> every function the
    template subscribes to the topic whose FilterPolicy matches, with an SNS event record ->
    PagerDuty pages, Statuspage incidents, Slack messages; plus the ack-deadline and Statuspage sweeps.

A tick stands for one minute of the template's schedules (rate(5 minutes) fires on ticks 1, 6, ...)
and starts every --tick-seconds (default 4). The run prints a timeline (or JSON lines with --json):
tick times relative to the start, each invocation's summary in one line, every message published and
where it was delivered or filtered out, and every PagerDuty event, Statuspage incident change and
Slack message as the stand-ins recorded them. It ends by itself after its ticks; the exit status is
1 when an invocation failed or a vendor would have refused a request, 2 for a usage problem.

Default scenario (no --config): a healthy API, an API that answers 503 for a while and then recovers,
an integration whose /status says 91 % of its quota is used, and the local PostgreSQL and Redis when
they answer. Expected: one high-urgency page for the failing API, escalated when nobody acknowledges
it within 20 s, a Statuspage incident for its component and #ops-alerts told, #incident-room
reminded, then the resolve, the component operational again and the incident resolved after the quiet
period; the quota warning pages at low urgency and never reaches the status page (filter policy).

Dry run (--config and --env-file): your config against your real targets, to try routing and wording
before the first deploy. Vendor calls still go to the local stand-ins (the Statuspage stand-in gets
your page id and components; Slack webhooks are replaced by the local ones). The env file gives the
secret values your config names; see events/env.sandbox.example.json:

    {"secrets": {"ssm:/runbook/redis/password": "...",
                 "secret:runbook/pagerduty": {"platform_routing_key": "...", "rest_api_token": "..."}},
     "ticks": 5, "tick_seconds": 4}

Vendor credentials missing from it are made up (the stand-ins accept them); other missing secrets
are listed, and what reads them fails as it would in AWS. Checks that need AWS resources of your
account (SQS queue depth) see only the local moto server.

The stand-ins and the loopback servers are the standins package's (tools/standins), which the tests
share; they read the vendors' specs from the checkout's tests/vendor/specs, so the sandbox runs from a
checkout of this repository.
"""
