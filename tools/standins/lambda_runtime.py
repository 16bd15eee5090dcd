"""One factory for Lambda contexts and one loader for the sample events and handlers of the repo."""

import importlib.util
import json
import time
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


class FakeLambdaContext:
    """What handlers read from awslambdaric's LambdaContext."""

    def __init__(self, function_name: str = "HealthProbeFunction", timeout_s: float = 55.0) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = "512"
        self.invoked_function_arn = f"arn:aws:lambda:eu-west-1:123456789012:function:{function_name}"
        self.aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "2026/11/27/[$LATEST]abcdef"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self._deadline - time.monotonic()) * 1000), 0)


def load_event(relative: str) -> dict[str, Any]:
    """An event file under events/, e.g. "health_probe/schedule.json"."""
    event: dict[str, Any] = json.loads((ROOT / "events" / relative).read_text())
    return event


def load_handler_module(function_dir: str) -> ModuleType:
    """functions/<dir>/app.py as a module of its own name, without touching sys.path."""
    path = ROOT / "functions" / function_dir / "app.py"
    spec = importlib.util.spec_from_file_location(f"handler_{function_dir}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reset_cold_start() -> None:
    """Forget what a cold start built (dependencies, config, AWS clients), as a new container would."""
    from runbook.adapters import aws_clients
    from runbook.config_file import load_config_cached
    from runbook.roots import health_probe, pagerduty, quota_check, statuspage

    for cached in (
        health_probe.health_probe_dependencies,
        quota_check.quota_check_dependencies,
        pagerduty.pagerduty_dependencies,
        pagerduty.paging_dependencies,
        pagerduty.sweep_dependencies,
        statuspage.statuspage_dependencies,
        statuspage.status_dependencies,
        statuspage.statuspage_api,
        load_config_cached,
        aws_clients.aws_client,
        aws_clients.probe_client,
        aws_clients.shared_session,
    ):
        cached.cache_clear()
