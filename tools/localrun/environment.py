"""The environment variables a function sees, assembled the way Lambda and `sam local` do.

Precedence, lowest first:
1. what the Lambda runtime sets (AWS_LAMBDA_FUNCTION_NAME, AWS_EXECUTION_ENV, LAMBDA_TASK_ROOT, ...);
2. AWS credentials, region and endpoints of the calling shell (AWS_ENDPOINT_URL points boto3 at moto);
3. the function's declared variables: the template's value, then the same name in the calling shell,
   then the env-vars file's "Parameters", then its "<LogicalId>" section (sam's rules: the file only
   overrides variables the template declares);
4. explicit overrides (any name).

Lambda runs the handler in its code directory (/var/task), and so does localrun. A relative path that
the caller gives (in the shell, the env-vars file or an override) and that names a file from the
caller's working directory is made absolute, so that it names the same file for the function;
the template's own values are left as they are.

Lambda extracts layers to /opt, which cannot be used here. A value that names a file under /opt/ is
rewritten to that file inside the layer that provides it (the last layer wins, as in Lambda), and
RUNBOOK_CONFIG, whose code default is /opt/runbook.yaml, is set to the layer's runbook.yaml unless the
template, the overrides or the calling shell set it (the env-vars file cannot: the template does not
declare it).
"""

import os
import time
import uuid
from collections.abc import Mapping
from pathlib import Path

from localrun.function import FunctionSpec

_PASSTHROUGH = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CA_BUNDLE",
    "AWS_ENDPOINT_URL",
    "AWS_MAX_ATTEMPTS",
    "AWS_RETRY_MODE",
    "HOME",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)
_PASSTHROUGH_PREFIXES = ("AWS_ENDPOINT_URL_",)  # service-specific endpoints, e.g. AWS_ENDPOINT_URL_SNS
# Variables whose default in the code is a file under /opt (docs/ARCHITECTURE.md, "Contracts").
OPT_DEFAULTS = {"RUNBOOK_CONFIG": "/opt/runbook.yaml"}
DEFAULT_REGION = "us-east-1"


def opt_file(spec: FunctionSpec, opt_path: str) -> Path | None:
    """The layer file that Lambda would have at opt_path (a path under /opt/)."""
    relative = opt_path.removeprefix("/opt/")
    for layer in reversed(spec.layers):
        candidate = layer.content_dir / relative
        if candidate.exists():
            return candidate
    return None


def region_of(host_env: Mapping[str, str]) -> str:
    return host_env.get("AWS_REGION") or host_env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def _runtime_variables(spec: FunctionSpec, region: str, runtime_dir: Path) -> dict[str, str]:
    layer_dirs = [layer.content_dir for layer in reversed(spec.layers)]
    stream = time.strftime("%Y/%m/%d/[$LATEST]", time.gmtime()) + uuid.uuid4().hex
    env = {
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PATH": os.pathsep.join(
            [*(str(d / "bin") for d in layer_dirs), "/usr/local/bin", "/usr/bin", "/bin"]
        ),
        "LD_LIBRARY_PATH": os.pathsep.join(str(d / "lib") for d in layer_dirs),
        "LAMBDA_TASK_ROOT": str(spec.code_dir),
        "LAMBDA_RUNTIME_DIR": str(runtime_dir),
        "_HANDLER": spec.handler,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group,
        "AWS_LAMBDA_LOG_STREAM_NAME": stream,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        # Like `sam local`: libraries may tell local runs apart (Powertools Tracer turns itself off).
        "AWS_SAM_LOCAL": "true",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
    }
    if spec.log_format == "JSON":
        env["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
        env["AWS_LAMBDA_LOG_LEVEL"] = spec.application_log_level or "INFO"
    return env


def _from_caller(value: str, cwd: Path) -> str:
    """value, or the absolute path of the file it names relative to the caller's directory."""
    if not value or os.path.isabs(value) or "://" in value or "\n" in value:
        return value
    candidate = cwd / value
    return os.path.abspath(candidate) if candidate.is_file() else value


def _looks_like_a_missing_path(value: str, cwd: Path, code_dir: Path) -> bool:
    relative = "/" in value and ":" not in value and not os.path.isabs(value)
    return relative and not (cwd / value).exists() and not (code_dir / value).exists()


def _file_overrides(spec: FunctionSpec, env_vars_file: Mapping[str, Mapping[str, object]]) -> dict[str, str]:
    # sam: "Parameters" for every function, then the first section named after this one.
    own = env_vars_file.get(spec.logical_id) or env_vars_file.get(spec.function_name) or {}
    merged = {**(env_vars_file.get("Parameters") or {}), **own}
    return {k: "true" if v is True else "false" if v is False else str(v) for k, v in merged.items()}


def build_environment(
    spec: FunctionSpec,
    *,
    runtime_dir: Path,
    host_env: Mapping[str, str],
    env_vars_file: Mapping[str, Mapping[str, object]],
    overrides: Mapping[str, str],
    cwd: Path,
) -> tuple[dict[str, str], list[str]]:
    """Return the function's environment and notes for the person running it. cwd: the caller's
    working directory, against which relative file paths the caller gives are resolved."""
    notes: list[str] = []
    overrides = {k: _from_caller(v, cwd) for k, v in overrides.items()}
    env = _runtime_variables(spec, region_of(host_env), runtime_dir)
    env.update(
        {k: v for k, v in host_env.items() if k in _PASSTHROUGH or k.startswith(_PASSTHROUGH_PREFIXES)}
    )

    file_values = {k: _from_caller(v, cwd) for k, v in _file_overrides(spec, env_vars_file).items()}
    ignored = sorted(set(file_values) - set(spec.environment))
    if ignored:
        names = ", ".join(ignored)
        notes.append(f"env-vars file sets {names}, not declared by {spec.logical_id}: ignored (as by sam)")
    unresolved = []
    for name, template_value in spec.environment.items():
        from_shell = host_env.get(name)
        value = file_values.get(name, template_value if from_shell is None else _from_caller(from_shell, cwd))
        env[name] = value
        if name in spec.unresolved and value == template_value and name not in overrides:
            unresolved.append(f"{name}={template_value}")
    env.update(overrides)
    if unresolved:
        notes.append("no value outside a deployed stack (set it in --env-vars): " + ", ".join(unresolved))

    for name, opt_path in OPT_DEFAULTS.items():
        if name not in env and name in host_env:
            env[name] = _from_caller(host_env[name], cwd)
        elif name not in env and opt_file(spec, opt_path) is not None:
            env[name] = opt_path
    for name in dict.fromkeys([*overrides, *file_values, *OPT_DEFAULTS]):
        value = env.get(name, "")
        if _looks_like_a_missing_path(value, cwd, spec.code_dir):
            notes.append(
                f"{name}={value}: no such file in {cwd} (the caller's directory) nor in {spec.code_dir}, "
                "where the function runs"
            )
    for name, value in env.items():
        if value.startswith("/opt/"):
            mapped = opt_file(spec, value)
            if mapped is None:
                notes.append(f"{name}={value}: no layer of {spec.logical_id} provides this file")
            else:
                env[name] = str(mapped)
    return env, notes
