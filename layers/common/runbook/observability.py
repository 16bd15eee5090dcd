"""The one place Logger, Metrics and Tracer are created. Service name, namespace and log level come
from the POWERTOOLS_* variables set in the template's Globals."""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
metrics = Metrics()
# Only AWS SDK calls are traced: patching httpx would add a subsegment to each of hundreds of probes.
tracer = Tracer(patch_modules=["botocore"])
