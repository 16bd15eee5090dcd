"""The secrets of a sandbox run, keyed as the config names them, and the env file of the dry run.

Keys: `ssm:/runbook/x` (an SSM parameter) or `secret:runbook/x` (a Secrets Manager secret); a value is a
string, or for a secret an object (a JSON secret, whose keys `{secret: name, key: k}` picks).

The vendor credentials of the config (PagerDuty routing keys and REST token, the Statuspage API key) are
what the local stand-ins accept: the env file's value when it has one, else a made-up value. The Slack
webhook URLs are always the local Slack's: nothing of a sandbox run reaches a vendor.
"""

import json
import secrets as random
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runbook.models.config import RunbookConfig
from runbook.models.secrets import SecretRef, SecretsManagerRef, SsmParameterRef, find_secret_refs

SecretValue = str | dict[str, Any]
DEFAULT_DRY_RUN_TICKS = 5
MAX_TICKS = 60


class EnvFileError(ValueError):
    """The env file cannot be used; the message says where and what is expected."""


@dataclass(frozen=True)
class EnvFile:
    secrets: dict[str, SecretValue]
    ticks: int | None = None
    tick_seconds: float | None = None


@dataclass
class VendorCredentials:
    """What the stand-ins accept, and who each routing key belongs to."""

    pagerduty_token: str | None = None
    routing_keys: dict[str, str] = field(default_factory=dict)  # routing key -> service name
    statuspage_api_key: str | None = None
    notes: list[str] = field(default_factory=list)


def ref_name(ref: SecretRef) -> str:
    return f"ssm:{ref.ssm}" if isinstance(ref, SsmParameterRef) else f"secret:{ref.secret}"


def resolve(ref: SecretRef, secrets: dict[str, SecretValue]) -> str | None:
    value = secrets.get(ref_name(ref))
    if value is None:
        return None
    if isinstance(ref, SecretsManagerRef) and ref.key is not None:
        if not isinstance(value, dict) or ref.key not in value:
            return None
        picked = value[ref.key]
        return picked if isinstance(picked, str) else json.dumps(picked)
    return value if isinstance(value, str) else json.dumps(value)


def assign(secrets: dict[str, SecretValue], ref: SecretRef, value: str) -> None:
    """Make `ref` resolve to `value`, keeping the other keys of a JSON secret."""
    name = ref_name(ref)
    if isinstance(ref, SecretsManagerRef) and ref.key is not None:
        current = secrets.get(name)
        if isinstance(current, str):
            raise EnvFileError(f"{name} is a plain string, but the config reads its key {ref.key!r}")
        secrets[name] = {**(current or {}), ref.key: value}
    else:
        secrets[name] = value


def load_env_file(path: Path) -> EnvFile:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise EnvFileError(f"cannot read the env file {path}: {error}") from None
    if not isinstance(data, dict):
        raise EnvFileError(f'{path}: expected {{"secrets": {{...}}, "ticks": 5}}')
    unknown = sorted(set(data) - {"_about", "secrets", "ticks", "tick_seconds"})
    if unknown:
        raise EnvFileError(f"{path}: unknown key(s) {unknown}; expected secrets, ticks, tick_seconds")
    raw = data.get("secrets") or {}
    if not isinstance(raw, dict):
        raise EnvFileError(f"{path}: `secrets` must be an object")
    values: dict[str, SecretValue] = {}
    for name, value in raw.items():
        kind, _, ident = str(name).partition(":")
        if kind not in ("ssm", "secret") or not ident:
            raise EnvFileError(f"{path}: secrets key {name!r}: expected ssm:/name or secret:name")
        if kind == "ssm" and not isinstance(value, str):
            raise EnvFileError(f"{path}: {name}: an SSM parameter is a string")
        if not isinstance(value, str | dict):
            raise EnvFileError(f"{path}: {name}: expected a string or (for a JSON secret) an object")
        values[name] = value
    ticks = data.get("ticks")
    if ticks is not None and (not isinstance(ticks, int) or not 1 <= ticks <= MAX_TICKS):
        raise EnvFileError(f"{path}: `ticks` must be a whole number from 1 to {MAX_TICKS}")
    tick_seconds = data.get("tick_seconds")
    if tick_seconds is not None and (not isinstance(tick_seconds, int | float) or tick_seconds < 0):
        raise EnvFileError(f"{path}: `tick_seconds` must be a number of seconds >= 0")
    return EnvFile(values, ticks, None if tick_seconds is None else float(tick_seconds))


def made_up(prefix: str, size: int = 32) -> str:
    alphabet = string.ascii_uppercase + string.digits
    return (prefix + "".join(random.choice(alphabet) for _ in range(size)))[:size]


def vendor_credentials(
    config: RunbookConfig, secrets: dict[str, SecretValue], slack_url: Callable[[str], str]
) -> VendorCredentials:
    """Fill in (in `secrets`) what the vendor stand-ins need; `slack_url(channel)` is a local webhook."""
    found = VendorCredentials()

    def credential(ref: SecretRef, what: str, prefix: str) -> str:
        value = resolve(ref, secrets)
        if value is None:
            value = made_up(prefix)
            assign(secrets, ref, value)
            found.notes.append(f"{what} ({ref.describe()}): not in the env file; the sandbox made one up")
        return value

    if config.pagerduty is not None:
        for name, service in config.pagerduty.services.items():
            key = credential(service.routing_key, f"PagerDuty routing key of {name}", "R0UT1NG")
            found.routing_keys[key] = name
        if config.pagerduty.ack.api_token is not None:
            found.pagerduty_token = credential(config.pagerduty.ack.api_token, "PagerDuty REST token", "tok")
    if config.statuspage is not None:
        found.statuspage_api_key = credential(config.statuspage.api_key, "Statuspage API key", "key")
        for channel, ref in (
            ("ops-alerts", config.statuspage.slack.ops_alerts),
            ("incident-room", config.statuspage.slack.incident_room),
        ):
            if ref is not None:
                assign(secrets, ref, slack_url(channel))
                found.notes.append(f"Slack #{channel} ({ref.describe()}): the local Slack's webhook")
    return found


def unresolved(config: RunbookConfig, secrets: dict[str, SecretValue]) -> list[str]:
    """The references of the config that nothing resolves, each as `ssm:/x` or `secret:x#key`."""
    return sorted({ref.describe() for ref in find_secret_refs(config) if resolve(ref, secrets) is None})
