"""runbook-sandbox: the command line (usage: the package docstring, `runbook-sandbox --help`)."""

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import sandbox
from localrun.api import host_architecture
from localrun.cfn_yaml import TemplateError
from runbook.config_file import ConfigError, load_config
from sandbox.build import BuildError, default_cache_root, sam_build
from sandbox.runner import SandboxOptions, run_sandbox
from sandbox.scenario import DEFAULT_TICK_SECONDS, start_scenario, write_config
from sandbox.secrets import DEFAULT_DRY_RUN_TICKS, MAX_TICKS, EnvFileError, load_env_file
from sandbox.timeline import printer

USAGE_ERROR = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="runbook-sandbox",
        description="The whole chain locally: schedules, functions, AlertsTopic fan-out, vendor stand-ins.",
        epilog=sandbox.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", type=Path, help="your runbook config (dry run; needs --env-file)")
    parser.add_argument(
        "--env-file", type=Path, help="secret values for --config (events/env.sandbox.example.json)"
    )
    parser.add_argument("--ticks", type=int, help=f"number of ticks (1..{MAX_TICKS})")
    parser.add_argument(
        "--tick-seconds", type=float, help=f"seconds between tick starts (default {DEFAULT_TICK_SECONDS:g})"
    )
    parser.add_argument("--json", action="store_true", help="the timeline as JSON lines")
    parser.add_argument("--template", type=Path, help="a built template (skips sam build)")
    parser.add_argument("--build-cache", type=Path, help="sam build's cache dir (default: in the temp dir)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if (args.config is None) != (args.env_file is None):
        parser.error("--config and --env-file go together (the dry run)")
    if args.ticks is not None and not 1 <= args.ticks <= MAX_TICKS:
        parser.error(f"--ticks must be from 1 to {MAX_TICKS}")
    if args.tick_seconds is not None and args.tick_seconds < 0:
        parser.error("--tick-seconds must be >= 0")
    out = sys.stdout
    try:
        template = args.template or _build(args.build_cache, quiet=args.json)
        # Kept after the run (in the temp dir): the generated config and every invocation's log.
        work_dir = Path(tempfile.mkdtemp(prefix="runbook-sandbox-"))
        if args.config is not None:
            options = _dry_run(args, template, work_dir)
            run = run_sandbox(options, printer(out, args.json))
        else:
            tick_seconds = DEFAULT_TICK_SECONDS if args.tick_seconds is None else args.tick_seconds
            scenario = start_scenario(tick_seconds, args.ticks)
            try:
                options = SandboxOptions(
                    template=template,
                    config_path=write_config(scenario, work_dir),
                    secrets=dict(scenario.secrets),
                    ticks=scenario.ticks,
                    tick_seconds=tick_seconds,
                    work_dir=work_dir,
                    scenario=scenario,
                )
                run = run_sandbox(options, printer(out, args.json))
            finally:
                scenario.close()
    except (BuildError, ConfigError, EnvFileError, TemplateError) as error:
        print(f"runbook-sandbox: {error}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print("runbook-sandbox: interrupted", file=sys.stderr)
        return 130
    return 0 if run.ok else 1


def _build(cache: Path | None, quiet: bool) -> Path:
    if not quiet:
        where = cache or default_cache_root(host_architecture())
        print(f"runbook-sandbox: sam build for this machine's architecture (cache {where}) ...", flush=True)
    return sam_build(cache)


def _dry_run(args: argparse.Namespace, template: Path, work_dir: Path) -> SandboxOptions:
    env_file = load_env_file(args.env_file)
    load_config(args.config)  # its problems, before anything starts
    ticks = args.ticks or env_file.ticks or DEFAULT_DRY_RUN_TICKS
    tick_seconds = args.tick_seconds if args.tick_seconds is not None else env_file.tick_seconds
    return SandboxOptions(
        template=template,
        config_path=args.config.resolve(),
        secrets=dict(env_file.secrets),
        ticks=ticks,
        tick_seconds=DEFAULT_TICK_SECONDS if tick_seconds is None else tick_seconds,
        work_dir=work_dir,
        notes=["dry run: your config, your targets; PagerDuty, Statuspage and Slack are the local stand-ins"],
    )


if __name__ == "__main__":
    sys.exit(main())
