"""runbook-local: invoke a function of template.yaml with an event file, without Docker.

    runbook-local setup [--endpoint-url http://127.0.0.1:5000] [-n events/env.example.json]
        [-o env.local.json]
    runbook-local invoke HealthProbeFunction --event events/health_probe/schedule.json
        [--template PATH] [--env-vars env.local.json]
        [--parameter-overrides LogLevel=DEBUG ...] [--env NAME=VALUE ...]

`setup` creates on a local AWS (a moto server) the tables, topics and queues template.yaml declares
and writes the env-vars file that points the functions at them. `invoke`: the handler's JSON return
value goes to stdout, its logs to stderr. On a handler error the Lambda error object ({"errorType",
"errorMessage", ...}) goes to stdout and the exit status is 1; a template or usage problem exits with 2.
"""

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from localrun.api import InvokeResult, invoke, load_env_vars_file, setup
from localrun.cfn_yaml import TemplateError

EPILOG = """\
The handler runs in its own `python -I -S` with only its code, its layers and the AWS SDK of the
Lambda runtime on sys.path, and is killed at the template's Timeout.

Environment: the template's variables (Globals merged), overridden as by `sam local` by the calling
shell, then the env-vars file; --env wins over all and may add variables. AWS credentials, region
and AWS_ENDPOINT_URL[_<SERVICE>] are passed through from the shell. The function runs in its code
directory, as in Lambda: a relative path you give that names a file from your working directory
is made absolute first.
Layers are not at /opt here: a value naming a file under /opt/ is mapped to that file in the layer
that ships it. RUNBOOK_CONFIG defaults to the ConfigLayer's runbook.yaml (Lambda's
/opt/runbook.yaml) unless --env or the shell set it.
"""
SETUP_DESCRIPTION = """\
Creates, on the endpoint given (a moto server, `uv run moto_server -p 5000`), the DynamoDB tables,
SNS topics and SQS queues that template.yaml declares, named local-<LogicalId>, and writes the
env-vars file (sam's format) that gives each function their names: STATE_TABLE_NAME,
ALERTS_TOPIC_ARN, DEAD_LETTER_QUEUE_URL. Pass it to invoke with -n. It never creates anything in
an AWS account: for one, deploy a dev stack (sam deploy) and use its outputs.
"""
BUILT_TEMPLATE = Path(".aws-sam/build/template.yaml")
SOURCE_TEMPLATE = Path("template.yaml")


def _pairs(items: Sequence[str], what: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in (token for raw in items for token in raw.split()):
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise TemplateError(f"{what} {item!r}: expected NAME=VALUE")
        pairs[name] = value
    return pairs


def _default_template() -> Path:
    """The `sam build` output when there is one (what gets deployed), else the source template."""
    if BUILT_TEMPLATE.exists():
        if SOURCE_TEMPLATE.exists() and SOURCE_TEMPLATE.stat().st_mtime > BUILT_TEMPLATE.stat().st_mtime:
            print(
                f"runbook-local: {SOURCE_TEMPLATE} is newer than {BUILT_TEMPLATE}: run `sam build`",
                file=sys.stderr,
            )
        return BUILT_TEMPLATE
    return SOURCE_TEMPLATE


def _read_event(source: str) -> Any:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
        return json.loads(text)
    except (OSError, ValueError) as exc:
        raise TemplateError(f"cannot read event {source}: {exc}") from exc


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="runbook-local", description="Run Lambda functions of a SAM template locally."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser(
        "invoke",
        help="invoke one function with an event",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "logical_id", metavar="LogicalId", help="the function's logical ID, e.g. HealthProbeFunction"
    )
    run.add_argument("-e", "--event", required=True, help="event JSON file, or - for stdin")
    run.add_argument(
        "-t", "--template", type=Path, help=f"default: {BUILT_TEMPLATE} if it exists, else {SOURCE_TEMPLATE}"
    )
    run.add_argument("-n", "--env-vars", type=Path, help="sam's env-vars JSON file")
    run.add_argument("--parameter-overrides", nargs="+", default=[], metavar="KEY=VALUE")
    run.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="set any variable")

    setup = commands.add_parser(
        "setup",
        help="create the template's tables, topics and queues on a local AWS (moto) for invoke",
        description=SETUP_DESCRIPTION,
    )
    setup.add_argument(
        "--endpoint-url", help="the local AWS, e.g. http://127.0.0.1:5000 (default: $AWS_ENDPOINT_URL)"
    )
    setup.add_argument("-t", "--template", type=Path, help="default: as for invoke")
    setup.add_argument("-n", "--env-vars", type=Path, help="an env-vars file to start from")
    setup.add_argument("-o", "--output", type=Path, help="write the env-vars file here (default: stdout)")
    setup.add_argument("--parameter-overrides", nargs="+", default=[], metavar="KEY=VALUE")
    return parser


def _init(result: InvokeResult) -> str:
    """Init's own time, which Lambda's 10 s limit applies to, and the time it only waited for a CPU."""
    waited = (
        f", {result.init_cpu_wait_ms:.0f} ms more waiting for a CPU" if result.init_cpu_wait_ms >= 1 else ""
    )
    return f"(init {result.init_ms:.0f} ms{waited})"


def _invoke(args: argparse.Namespace) -> int:
    try:
        template = args.template or _default_template()
        result = invoke(
            template,
            args.logical_id,
            _read_event(args.event),
            _pairs(args.env, "--env"),
            env_vars=load_env_vars_file(args.env_vars) if args.env_vars else None,
            parameter_overrides=_pairs(args.parameter_overrides, "--parameter-overrides"),
            log_sink=sys.stderr,
        )
    except TemplateError as exc:
        print(f"runbook-local: {exc}", file=sys.stderr)
        return 2
    if result.error is not None:
        print(json.dumps(result.error))
        error_type, message = result.error["errorType"], result.error["errorMessage"]
        print(
            f"runbook-local: {result.function} failed: {error_type}: {message} {_init(result)}",
            file=sys.stderr,
        )
        return 1
    print(json.dumps(result.payload))
    print(
        f"runbook-local: {result.function} took {result.duration_ms:.0f} ms {_init(result)}", file=sys.stderr
    )
    return 0


def _setup(args: argparse.Namespace) -> int:
    endpoint = args.endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        print(
            "runbook-local setup: no local AWS to create the resources on: give --endpoint-url "
            "(e.g. http://127.0.0.1:5000 after `uv run moto_server -p 5000`) or set AWS_ENDPOINT_URL. "
            "For an AWS account, deploy a dev stack instead (sam deploy).",
            file=sys.stderr,
        )
        return 2
    try:
        result = setup(
            args.template or _default_template(),
            endpoint,
            parameter_overrides=_pairs(args.parameter_overrides, "--parameter-overrides"),
            base_env_vars=load_env_vars_file(args.env_vars) if args.env_vars else None,
        )
    except TemplateError as exc:
        print(f"runbook-local setup: {exc}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as exc:
        print(f"runbook-local setup: {endpoint}: {exc}", file=sys.stderr)
        return 1
    text = json.dumps(result.env_vars, indent=2) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    created = ", ".join(c.describe() for c in result.created.values())
    where = f"; wrote {args.output}: pass it to invoke with -n" if args.output else ""
    print(f"runbook-local setup: on {endpoint}: {created or 'nothing to create'}{where}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return _setup(args) if args.command == "setup" else _invoke(args)


if __name__ == "__main__":
    sys.exit(main())
