"""`runbook`: the runbook's checks from a terminal, without AWS Lambda.

runbook check --config config/examples/local.yaml     run every check and integration once, print a table
runbook validate --config config/runbook.yaml         validate a config against template.yaml, list its checks
runbook schema                                         print the config's JSON Schema
runbook heartbeat --check web-app-synthetic --status pass --summary "42/42 passed"
"""

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from runbook import validation
from runbook.config_file import ConfigDocument, ConfigError, load_config, load_document
from runbook.models.config import RunbookConfig
from runbook.models.events import HeartbeatReport
from runbook.models.results import CheckResult

# 0: all pass; 1: a check fails; 2: the config is invalid, or cannot be checked from here (no AWS
# region or credentials for the secrets and SQS queues it reads); 130: interrupted (Ctrl-C).
EXIT_OK, EXIT_FAILING, EXIT_BAD_CONFIG, EXIT_INTERRUPTED = 0, 1, 2, 130
DEFAULT_CONFIG = os.environ.get("RUNBOOK_CONFIG", "config/runbook.yaml")
DEFAULT_TEMPLATE = "template.yaml"


class CliError(Exception):
    """A foreseeable condition the user can fix: one line on stderr, then this exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.command(args))
    except ConfigError as error:
        print(error, file=sys.stderr)
        return EXIT_BAD_CONFIG
    except CliError as error:
        print(f"runbook: {error}", file=sys.stderr)
        return error.code
    except KeyboardInterrupt:
        print("runbook: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _check(args: argparse.Namespace) -> int:
    from runbook.cli_checks import run_once  # imports every probe library: only when checks run
    from runbook.cold_start import settle_heap

    config = _selected(load_config(args.config), args.only)
    settle_heap()  # before the checks time anything
    run = asyncio.run(run_once(config, budget_s=args.budget))
    results = run.results
    if args.json:
        print(json.dumps([r.model_dump(mode="json") for r in results], indent=2))
    else:
        print(_table(results))
    failing = [r for r in results if not r.ok and r.counts]
    if not args.json:
        skipped = sum(not r.counts for r in results)
        passed = len(results) - len(failing) - skipped
        print(f"\n{passed} passed, {len(failing)} failing, {skipped} skipped", file=sys.stderr)
    if run.aws_problem is not None:  # those checks say secret_unavailable; the config may be fine
        sys.stdout.flush()
        raise CliError(
            f"the checks that read secrets or SQS queues were not judged: {run.aws_problem}", EXIT_BAD_CONFIG
        )
    return EXIT_FAILING if failing else EXIT_OK


def _validate(args: argparse.Namespace) -> int:
    document = load_document(args.config)
    config = document.config
    deployment = _deployment(args.template)
    errors = validation.errors(config, deployment)
    if errors:
        raise ConfigError(args.config, [_located(document, finding) for finding in errors])
    print(f"{args.config}: valid, {len(config.checks)} checks, {len(config.integrations)} integrations")
    for check in [*config.checks, *config.integrations]:
        state = "" if check.enabled else " (disabled)"
        print(f"  {check.name:<32} {check.kind:<11} {check.severity:<8} {check.sev}{state}")
    sys.stdout.flush()
    for finding in validation.warnings(config, deployment):
        print(f"warning: {_located(document, finding)}", file=sys.stderr)
    return EXIT_OK


def _located(document: ConfigDocument, finding: validation.Finding) -> str:
    where = document.where(finding.loc) if finding.loc else ""
    return f"{where}: {finding.message}" if where else finding.message


def _deployment(template: str | None) -> validation.Deployment:
    """The functions' timeouts from the SAM template (read with the repository's CloudFormation YAML
    loader, tools/localrun; the CLI's package ships it, the Lambda layer does not need it)."""
    from localrun.cfn_yaml import TemplateError, load_template
    from localrun.function import function_timeouts
    from localrun.intrinsics import Resolver

    path = Path(template or DEFAULT_TEMPLATE)
    if template is None and not path.is_file():
        return validation.Deployment(
            str(path),
            unread=f"no {path} in the current directory (run from the repository, or give --template)",
        )
    try:
        parsed = load_template(path)
        return validation.Deployment(str(path), timeouts=function_timeouts(parsed, Resolver(parsed)))
    except TemplateError as error:
        raise CliError(f"--template: {error}", EXIT_BAD_CONFIG) from None


def _schema(args: argparse.Namespace) -> int:
    from runbook.schema import config_schema

    print(json.dumps(config_schema(), indent=2))
    return EXIT_OK


def _heartbeat(args: argparse.Namespace) -> int:
    from runbook.adapters.aws_clients import aws_client, aws_setup_problem
    from runbook.adapters.heartbeat_events import HeartbeatSendError, send_heartbeat

    report = HeartbeatReport(check=args.check, status=args.status, summary=args.summary)
    problem = aws_setup_problem()
    if problem is not None:
        raise CliError(f"heartbeat not sent: {problem}", EXIT_BAD_CONFIG)
    try:
        event_id = send_heartbeat(aws_client("events"), report, args.event_bus)
    except HeartbeatSendError as error:
        raise CliError(f"heartbeat not sent: {error}", EXIT_FAILING) from None
    print(f"heartbeat {report.status} for {report.check} sent (event {event_id})")
    return EXIT_OK


def _selected(config: RunbookConfig, names: list[str] | None) -> RunbookConfig:
    if not names:
        return config
    unknown = sorted(set(names) - {c.name for c in [*config.checks, *config.integrations]})
    if unknown:
        raise ConfigError("--only", [f"no check or integration named {name!r}" for name in unknown])
    return config.model_copy(
        update={
            "checks": [c for c in config.checks if c.name in names],
            "integrations": [i for i in config.integrations if i.name in names],
        }
    )


def _table(results: list[CheckResult]) -> str:
    rows = [("CHECK", "KIND", "RESULT", "LATENCY", "REASON")]
    for r in results:
        latency = f"{r.latency_ms:.0f} ms" if r.latency_ms is not None else "-"
        slowest = r.phases.slowest() if r.phases else None
        if slowest is not None:  # where an HTTP check's time went, e.g. "212 ms (tls 180)"
            latency += f" ({slowest[0]} {slowest[1]:.0f})"
        verdict = "ok" if r.ok else r.outcome.value.upper()
        rows.append((r.check, r.kind, verdict, latency, r.reason))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)) + "  " + row[4]
        for row in rows
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="runbook", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    commands = parser.add_subparsers(required=True, metavar="command")

    check = commands.add_parser(
        "check", help="run every check and integration of a config once against the real targets"
    )
    check.add_argument("--config", default=DEFAULT_CONFIG, help="runbook YAML (default: %(default)s)")
    check.add_argument("--only", nargs="+", metavar="NAME", help="run only these checks or integrations")
    check.add_argument("--json", action="store_true", help="print results as JSON")
    check.add_argument("--budget", type=float, default=60.0, help="seconds for the whole run (default: 60)")
    check.set_defaults(command=_check)

    validate = commands.add_parser(
        "validate",
        help="validate a config against the template's functions, list its checks and integrations",
    )
    validate.add_argument("--config", default=DEFAULT_CONFIG, help="runbook YAML (default: %(default)s)")
    validate.add_argument(
        "--template",
        help=f"SAM template whose functions' Timeout the checks must fit (default: {DEFAULT_TEMPLATE}, "
        "when there is one in the current directory)",
    )
    validate.set_defaults(command=_validate)

    schema = commands.add_parser("schema", help="print the config's JSON Schema")
    schema.set_defaults(command=_schema)

    heartbeat = commands.add_parser("heartbeat", help="report an outside job's result for a heartbeat check")
    heartbeat.add_argument("--check", required=True)
    heartbeat.add_argument("--status", required=True, choices=["pass", "fail"])
    heartbeat.add_argument("--summary", default="")
    heartbeat.add_argument("--event-bus", default="default")
    heartbeat.set_defaults(command=_heartbeat)
    return parser


if __name__ == "__main__":
    sys.exit(main())
