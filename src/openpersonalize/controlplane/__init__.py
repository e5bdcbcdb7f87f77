"""The control plane: one module per AWS resource type, registered by operation name."""

from __future__ import annotations

from openpersonalize.controlplane import (  # noqa: F401  (importing registers the operations)
    batch_jobs,
    campaigns,
    catalog,
    data_jobs,
    dataset_groups,
    datasets,
    event_trackers,
    filters,
    metric_attributions,
    recommenders,
    schemas,
    solution_versions,
    solutions,
    tags,
)
from openpersonalize.controlplane.registry import OPERATIONS

__all__ = ["OPERATIONS"]
