"""The state table as template.yaml's own StateTable defines it, created on a moto DynamoDB (tests'
`aws` fixture, the e2e moto server, the paging benchmark), so that none of them can drift from what is
deployed."""

from pathlib import Path
from typing import Any

from localrun.cfn_yaml import load_template

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"  # the region of the tests' and benchmarks' moto AWS


def state_table_properties() -> dict[str, Any]:
    template = load_template(ROOT / "template.yaml")
    properties: dict[str, Any] = template["Resources"]["StateTable"]["Properties"]
    return properties


def create_state_table(client: Any, name: str) -> None:
    properties = state_table_properties()
    client.create_table(
        TableName=name,
        AttributeDefinitions=properties["AttributeDefinitions"],
        KeySchema=properties["KeySchema"],
        BillingMode=properties["BillingMode"],
    )
    ttl = properties.get("TimeToLiveSpecification")
    if ttl:
        client.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
