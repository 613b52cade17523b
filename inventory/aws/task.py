"""The ECS task this process runs in, if any: its id, from the task metadata endpoint (v4).

ECS sets ECS_CONTAINER_METADATA_URI_V4 in every container of a task; `GET {uri}/task` answers the task's
ARN. The id (its last segment) is the run id of an unsharded nightly task, so the verify task that an
EventBridge rule starts when it stops (given the ARN) checks exactly that run. A local HTTP call of at most
two seconds; on any failure the run gets a new id (and says so in the log).
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Mapping

METADATA_VARIABLE = "ECS_CONTAINER_METADATA_URI_V4"
TIMEOUT_SECONDS = 2.0
log = logging.getLogger(__name__)


def ecs_task_id(environ: Mapping[str, str]) -> str | None:
    """The task's id, or None outside ECS (or when the endpoint does not answer with a task ARN)."""
    base = environ.get(METADATA_VARIABLE)
    if not base or not base.startswith("http://"):
        return None
    try:
        with urllib.request.urlopen(f"{base.rstrip('/')}/task", timeout=TIMEOUT_SECONDS) as answer:
            arn = json.loads(answer.read(1 << 20)).get("TaskARN")
    except (OSError, ValueError, AttributeError) as err:
        log.warning("ECS task metadata unreadable (%s); the run gets a new id", type(err).__name__, extra={})
        return None
    return arn.rsplit("/", 1)[-1] if isinstance(arn, str) and "/" in arn else None
