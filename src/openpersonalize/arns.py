"""ARNs exactly as Amazon Personalize forms them (spec §1.3)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_ARN = re.compile(
    r"^arn:(?P<partition>[a-z\d-]+):personalize:(?P<region>[^:]*):(?P<account>[^:]*):(?P<resource>.+)$"
)

# Resource types of the account/region-scoped ARNs, keyed by their ARN prefix.
RESOURCE_TYPES = (
    "dataset-group",
    "schema",
    "dataset",
    "dataset-import-job",
    "dataset-export-job",
    "event-tracker",
    "data-deletion-job",
    "solution",
    "campaign",
    "recommender",
    "filter",
    "batch-inference-job",
    "batch-segment-job",
    "metric-attribution",
    "recipe",
    "algorithm",
    "feature-transformation",
)


@dataclass(frozen=True)
class ArnFactory:
    """Builds ARNs for one account and region."""

    region: str = "us-east-1"
    account: str = "123456789012"
    partition: str = "aws"

    def make(self, resource_type: str, *path: str) -> str:
        return (
            f"arn:{self.partition}:personalize:{self.region}:{self.account}:"
            f"{resource_type}/{'/'.join(path)}"
        )

    def global_arn(self, resource_type: str, name: str) -> str:
        """Recipes, algorithms and feature transformations have empty region and account."""
        return f"arn:{self.partition}:personalize:::{resource_type}/{name}"

    def dataset(self, dataset_group_name: str, dataset_type: str) -> str:
        return self.make("dataset", dataset_group_name, dataset_type.upper())

    def solution_version(self, solution_name: str, version_id: str) -> str:
        return self.make("solution", solution_name, version_id)


@dataclass(frozen=True)
class ParsedArn:
    region: str
    account: str
    resource_type: str
    path: tuple[str, ...]

    @property
    def kind(self) -> str:
        """``solution-version`` for ``solution/NAME/ID``, else the ARN's resource type."""
        if self.resource_type == "solution" and len(self.path) == 2:
            return "solution-version"
        return self.resource_type


def parse_arn(arn: str) -> ParsedArn | None:
    match = _ARN.match(arn)
    if not match:
        return None
    resource = match["resource"]
    resource_type, _, rest = resource.partition("/")
    if not rest:
        return None
    return ParsedArn(match["region"], match["account"], resource_type, tuple(rest.split("/")))
