"""Runtime and events operations, registered into the REST routing table."""

from __future__ import annotations

# Each module registers its handlers with ``rest_operation`` when imported (attribution: its
# PutEvents hook).
from openpersonalize.api import attribution, events, runtime  # noqa: F401
