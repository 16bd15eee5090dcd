"""Runs ONE invocation of a Lambda handler, in a fresh interpreter started with `python -I -S`.

Standard library only: nothing of the caller's environment is importable here. The parent passes a
JSON request file (argv[1]) with the sys.path Lambda would have (task root, layers, runtime SDK), the
handler, the event and the context values; this script imports the handler the way the Lambda
Python runtime (awslambdaric) does, calls it and writes {"payload": ...} or {"error": {...}} with
Lambda's errorType/errorMessage to the result file. Writing one byte to `ready_fd` tells the parent
that init is over, so that the function timeout is counted from the call, as Lambda does.
"""

import decimal
import importlib
import json
import logging
import os
import sys
import time
import traceback
from typing import Any


class _Fault(Exception):
    """A runtime error with Lambda's own errorType (Runtime.ImportModuleError, ...)."""

    def __init__(self, error_type: str, message: str, trace: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace or []


class LambdaContext:
    """The attributes and method of awslambdaric's LambdaContext (memory_limit_in_mb is a str there too)."""

    def __init__(self, request_id: str, invoked_function_arn: str, deadline_ms: int) -> None:
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id: str | None = None
        self.client_context: object | None = None
        self.identity: object | None = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def __repr__(self) -> str:
        return f"LambdaContext([aws_request_id={self.aws_request_id},function_name={self.function_name}])"


class _RequestIdFilter(logging.Filter):
    def __init__(self, request_id: str) -> None:
        super().__init__()
        self.request_id = request_id

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {
                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created)),
                "level": record.levelname,
                "message": record.getMessage(),
                "logger": record.name,
                "requestId": getattr(record, "aws_request_id", ""),
            }
        )


def _setup_root_logger(request_id: str) -> None:
    """The runtime's own root handler: plain `logging` calls reach the log like in Lambda."""
    handler = logging.StreamHandler(sys.stdout)
    if os.environ.get("AWS_LAMBDA_LOG_FORMAT") == "JSON":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter(
                "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
                "%Y-%m-%dT%H:%M:%S",
            )
        )
        logging.Formatter.converter = time.gmtime
    handler.addFilter(_RequestIdFilter(request_id))
    root = logging.getLogger()
    root.addHandler(handler)
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    if level in logging.getLevelNamesMapping():
        root.setLevel(level)


def _load_handler(handler: str) -> Any:
    """awslambdaric's _get_handler, with the same error types and messages."""
    try:
        module_name, function_name = handler.rsplit(".", 1)
    except ValueError as exc:
        raise _Fault("Runtime.MalformedHandlerName", f"Bad handler '{handler}': {exc}") from exc
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise _Fault(
            "Runtime.BuiltInModuleConflict", f"Cannot use built-in module {module_name} as a handler module"
        )
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise _Fault("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}") from exc
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        raise _Fault(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}", trace
        ) from exc
    try:
        return getattr(module, function_name)
    except AttributeError as exc:
        raise _Fault(
            "Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'"
        ) from exc


def _json_default(value: object) -> object:
    # The Lambda marshaller writes Decimal (what DynamoDB returns) as a number.
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _error(error_type: str, message: str, trace: list[str], request_id: str) -> dict[str, Any]:
    return {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": trace}


def _user_trace(exc: BaseException) -> list[str]:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.endswith("bootstrap.py")]
    return traceback.format_list(frames)


def _log_error(error: dict[str, Any]) -> None:
    lines = [f"[ERROR] {error['errorType']}: {error['errorMessage']}"]
    if error["stackTrace"]:
        lines += ["Traceback (most recent call last):", *(t.rstrip("\n") for t in error["stackTrace"])]
    print("\n".join(lines), flush=True)


def _run(request: dict[str, Any]) -> dict[str, Any]:
    request_id: str = request["request_id"]
    _setup_root_logger(request_id)
    try:
        handler = _load_handler(request["handler"])
    except _Fault as fault:
        return {"error": _error(fault.error_type, fault.message, fault.trace, request_id)}
    except Exception as exc:  # an error raised while the handler module initialises
        return {"error": _error(type(exc).__name__, str(exc), _user_trace(exc), request_id)}

    deadline_ms = int(time.time() * 1000) + int(request["timeout_s"]) * 1000
    os.write(request["ready_fd"], b"I")
    os.close(request["ready_fd"])
    context = LambdaContext(request_id, request["invoked_function_arn"], deadline_ms)
    try:
        payload = handler(request["event"], context)
    except Exception as exc:
        return {"error": _error(type(exc).__name__, str(exc), _user_trace(exc), request_id)}
    try:
        return {"payload_json": json.dumps(payload, default=_json_default)}
    except (TypeError, ValueError) as exc:
        return {"error": _error("Runtime.MarshalError", f"Unable to marshal response: {exc}", [], request_id)}


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as request_file:
        request = json.load(request_file)
    # sys.path is what Lambda's would be: task root, layers, runtime SDK, then the standard library
    # (the only entries `python -I -S` leaves).
    sys.path[:0] = request["sys_path"]
    os.chdir(request["task_root"])
    outcome = _run(request)
    if "error" in outcome:
        _log_error(outcome["error"])
    with open(request["result_path"], "w", encoding="utf-8") as result_file:
        json.dump(outcome, result_file)


if __name__ == "__main__":
    main()
