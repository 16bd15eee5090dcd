"""Run the Lambda functions of a SAM template locally, without Docker (dev tooling, not shipped).

The handler runs in a separate interpreter that sees only what Lambda would: the function's code,
its layers and the runtime's AWS SDK. So a dependency missing from a layer, a wrong handler path or
a config file that is not shipped fails here as it would after deploying.
"""

from localrun.api import InvokeError, InvokeResult, invoke
from localrun.cfn_yaml import TemplateError

__all__ = ["InvokeError", "InvokeResult", "TemplateError", "invoke"]
