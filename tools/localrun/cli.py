"""runbook-local: invoke a function of template.yaml with an event file, without Docker.

    runbook-local invoke HealthProbeFunction --event events/health_probe/schedule.json
        [--template PATH] [--env-vars events/env.example.json]
        [--parameter-overrides LogLevel=DEBUG ...] [--env NAME=VALUE ...]

The handler's JSON return value goes to stdout, its logs to stderr. On a handler error the Lambda
error object ({"errorType", "errorMessage", ...}) goes to stdout and the exit status is 1; a template
or usage problem exits with 2.
"""

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from localrun.api import InvokeResult, invoke, load_env_vars_file
from localrun.cfn_yaml import TemplateError

EPILOG = """\
The handler runs in its own `python -I -S` with only its code, its layers and the AWS SDK of the
Lambda runtime on sys.path, and is killed at the template's Timeout.

Environment: the template's variables (Globals merged), overridden as by `sam local` by the calling
shell, then the env-vars file; --env wins over all and may add variables. AWS credentials, region
and AWS_ENDPOINT_URL[_<SERVICE>] are passed through from the shell.
Layers are not at /opt here: a value naming a file under /opt/ is mapped to that file in the layer
that ships it. RUNBOOK_CONFIG defaults to the ConfigLayer's runbook.yaml (Lambda's
/opt/runbook.yaml) unless --env or the shell set it.
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
    return parser


def _init(result: InvokeResult) -> str:
    """Init's own time, which Lambda's 10 s limit applies to, and the time it only waited for a CPU."""
    waited = (
        f", {result.init_cpu_wait_ms:.0f} ms more waiting for a CPU" if result.init_cpu_wait_ms >= 1 else ""
    )
    return f"(init {result.init_ms:.0f} ms{waited})"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
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


if __name__ == "__main__":
    sys.exit(main())
