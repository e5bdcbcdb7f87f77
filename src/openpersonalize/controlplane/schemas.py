"""Schemas: Avro record definitions shared by datasets (account-wide, optionally per domain)."""

from __future__ import annotations

from typing import Any

from openpersonalize.controlplane import common
from openpersonalize.controlplane.context import Context
from openpersonalize.controlplane.registry import operation
from openpersonalize.data.schemas import parse_schema

KIND = "schema"


@operation("CreateSchema")
def create_schema(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = params["name"]
    parse_schema(params["schema"])  # raises InvalidInputException naming the field and rule
    limit = ctx.config.max_schemas
    common.check_quota(ctx.store.count(KIND), limit, f"More than {limit} schemas.")
    arn = ctx.arns.make(KIND, name)
    body = {
        "name": name,
        "schemaArn": arn,
        "schema": params["schema"],
        "domain": params.get("domain"),
    }
    common.create(ctx, kind=KIND, arn=arn, name=name, body=body)
    return {"schemaArn": arn}


@operation("DescribeSchema")
def describe_schema(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"schema": common.describe(ctx, params["schemaArn"], KIND)}


@operation("ListSchemas")
def list_schemas(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return common.list_page(ctx, params, KIND, "schemas")


@operation("DeleteSchema")
def delete_schema(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["schemaArn"]
    schema = common.get(ctx, arn, KIND)
    users = [d for d in ctx.store.select("dataset") if d.body.get("schemaArn") == arn]
    common.refuse_if_in_use(arn, users, "datasets that use it")
    # Schemas need no work to delete: gone at once.
    common.purge(ctx, schema)
    return {}
