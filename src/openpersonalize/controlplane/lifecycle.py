"""Status strings with AWS's exact spelling, and the transitions allowed between them."""

from __future__ import annotations

from openpersonalize.errors import ResourceInUseException

CREATE_PENDING = "CREATE PENDING"
CREATE_IN_PROGRESS = "CREATE IN_PROGRESS"
ACTIVE = "ACTIVE"
CREATE_FAILED = "CREATE FAILED"
CREATE_STOPPING = "CREATE STOPPING"
CREATE_STOPPED = "CREATE STOPPED"
DELETE_PENDING = "DELETE PENDING"
DELETE_IN_PROGRESS = "DELETE IN_PROGRESS"
STOP_PENDING = "STOP PENDING"
STOP_IN_PROGRESS = "STOP IN_PROGRESS"
INACTIVE = "INACTIVE"
START_PENDING = "START PENDING"
START_IN_PROGRESS = "START IN_PROGRESS"
# Data deletion jobs use their own spelling (spec §1.4).
PENDING = "PENDING"
IN_PROGRESS = "IN_PROGRESS"
COMPLETED = "COMPLETED"
FAILED = "FAILED"

IN_FLIGHT = (CREATE_PENDING, CREATE_IN_PROGRESS, CREATE_STOPPING, PENDING, IN_PROGRESS)
TERMINAL = (ACTIVE, CREATE_FAILED, CREATE_STOPPED, COMPLETED, FAILED, INACTIVE)

_CREATE = {
    CREATE_PENDING: {CREATE_IN_PROGRESS, CREATE_FAILED, DELETE_PENDING},
    CREATE_IN_PROGRESS: {ACTIVE, CREATE_FAILED, DELETE_PENDING},
    ACTIVE: {DELETE_PENDING},
    CREATE_FAILED: {DELETE_PENDING},
    DELETE_PENDING: {DELETE_IN_PROGRESS},
    DELETE_IN_PROGRESS: set(),
}

# Resource kind -> status -> statuses it may move to.
TRANSITIONS: dict[str, dict[str, set[str]]] = {
    "default": _CREATE,
    "solution-version": {
        CREATE_PENDING: {CREATE_IN_PROGRESS, CREATE_FAILED, CREATE_STOPPED},
        CREATE_IN_PROGRESS: {ACTIVE, CREATE_FAILED, CREATE_STOPPING},
        CREATE_STOPPING: {CREATE_STOPPED, CREATE_FAILED},
        ACTIVE: {DELETE_PENDING},
        CREATE_FAILED: {DELETE_PENDING},
        CREATE_STOPPED: {DELETE_PENDING},
        DELETE_PENDING: set(),
    },
    "recommender": {
        **_CREATE,
        ACTIVE: {STOP_PENDING, DELETE_PENDING, CREATE_IN_PROGRESS},
        STOP_PENDING: {STOP_IN_PROGRESS},
        STOP_IN_PROGRESS: {INACTIVE},
        INACTIVE: {START_PENDING, DELETE_PENDING},
        START_PENDING: {START_IN_PROGRESS},
        START_IN_PROGRESS: {ACTIVE},
    },
    "data-deletion-job": {
        PENDING: {IN_PROGRESS, FAILED},
        IN_PROGRESS: {COMPLETED, FAILED},
        COMPLETED: set(),
        FAILED: set(),
    },
}


def can_move(kind: str, current: str, new: str) -> bool:
    table = TRANSITIONS.get(kind, TRANSITIONS["default"])
    return new == current or new in table.get(current, set())


def check_move(kind: str, arn: str, current: str, new: str) -> None:
    if not can_move(kind, current, new):
        raise ResourceInUseException(
            f"Resource {arn} is in status {current} and cannot move to {new}."
        )
