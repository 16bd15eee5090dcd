"""The environment a function runs in, validated once at cold start (logic never reads os.environ)."""

import os
from collections.abc import Mapping
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    runbook_config: Annotated[str, Field(alias="RUNBOOK_CONFIG", min_length=1)] = "/opt/runbook.yaml"
    alerts_topic_arn: Annotated[str | None, Field(alias="ALERTS_TOPIC_ARN")] = None
    state_table_name: Annotated[str | None, Field(alias="STATE_TABLE_NAME")] = None
    pagerduty_events_url: Annotated[str, Field(alias="PAGERDUTY_EVENTS_URL")] = (
        "https://events.pagerduty.com/v2/enqueue"
    )
    pagerduty_api_url: Annotated[str, Field(alias="PAGERDUTY_API_URL")] = "https://api.pagerduty.com"
    statuspage_api_url: Annotated[str, Field(alias="STATUSPAGE_API_URL")] = "https://api.statuspage.io/v1"
    dead_letter_queue_url: Annotated[str | None, Field(alias="DEAD_LETTER_QUEUE_URL")] = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        source = os.environ if environ is None else environ
        return cls.model_validate({k: v for k, v in source.items() if v != ""})

    def require(self, name: str) -> str:
        """A setting the caller cannot work without; the error says which variable to set."""
        value = getattr(self, name)
        if not value:
            alias = type(self).model_fields[name].alias
            raise MissingSettingError(f"environment variable {alias} is not set (the template sets it)")
        return str(value)


class MissingSettingError(RuntimeError):
    pass
