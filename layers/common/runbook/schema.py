"""JSON Schemas generated from the models: the config's (config/runbook.schema.json, for editors) and
the alert's (schemas/runbook.alert.v1.json, for consumers)."""

from typing import Any

from pydantic import BaseModel

from runbook.models.alert import Alert
from runbook.models.config import RunbookConfig


def config_schema() -> dict[str, Any]:
    return _schema(RunbookConfig, "runbook-automation config (runbook.yaml)")


def alert_schema() -> dict[str, Any]:
    return _schema(Alert, "runbook.alert/v1")


def _schema(model: type[BaseModel], title: str) -> dict[str, Any]:
    schema = model.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = title
    return schema
