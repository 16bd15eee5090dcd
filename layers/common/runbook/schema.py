"""JSON Schemas generated from the models: the config's (config/runbook.schema.json, for editors) and
the alert's (schemas/runbook.alert.v1.json, for consumers)."""

from typing import Any

from runbook.models.alert import Alert
from runbook.models.config import RunbookConfig


def config_schema() -> dict[str, Any]:
    schema = RunbookConfig.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "runbook-automation config (runbook.yaml)"
    return schema


def alert_schema() -> dict[str, Any]:
    schema = Alert.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "runbook.alert/v1"
    return schema
