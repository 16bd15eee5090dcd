"""The shipped JSON Schemas are generated from the models, and the shipped configs satisfy them."""

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from runbook.schema import alert_schema, config_schema

ROOT = Path(__file__).resolve().parents[2]
REGENERATE = "regenerate with `make schema`"


def test_config_schema_file_is_current():
    shipped = json.loads((ROOT / "config" / "runbook.schema.json").read_text())
    assert shipped == config_schema(), REGENERATE


def test_alert_schema_file_is_current():
    shipped = json.loads((ROOT / "docs" / "runbook.alert.v1.schema.json").read_text())
    assert shipped == alert_schema(), REGENERATE


@pytest.mark.parametrize("config", ["config/runbook.yaml", "config/examples/local.yaml"])
def test_shipped_configs_satisfy_the_editor_schema(config):
    document = yaml.safe_load((ROOT / config).read_text())
    jsonschema.validate(document, config_schema())


def test_editor_schema_rejects_what_the_models_reject():
    bad = {"checks": [{"name": "a", "kind": "http", "url": "https://a.example.com/", "timout": "5s"}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, config_schema())
