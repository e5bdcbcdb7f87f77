"""The foundation through real clients: errors, paging, lifecycles, tags, restarts."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from openpersonalize.controlplane import OPERATIONS
from openpersonalize.wire import models
from tests.contract.server import RunningServer
from tests.schemas import BASIC_INTERACTIONS, avro

ACCOUNT = "123456789012"
REGION = "us-east-1"
ITEMS_SCHEMA = avro(
    "Items",
    [("ITEM_ID", "string"), ("GENRE", ["null", "string"]), ("YEAR", ["null", "int"])],
    GENRE={"categorical": True},
)


def error_of(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    err = info.value.response["Error"]
    return err["Code"], err["Message"]


def test_every_operation_of_the_three_models_is_routed() -> None:
    control = set(models.service_model(models.CONTROL_PLANE).operation_names)
    assert len(control) == 71
    assert control == set(OPERATIONS)
    from openpersonalize.api import app as app_module

    app_module.create_app  # noqa: B018  (importing registers the REST handlers)
    rest = {name for _, name in models.rest_routes().values()}
    assert rest == {
        "GetRecommendations",
        "GetPersonalizedRanking",
        "GetActionRecommendations",
        "PutEvents",
        "PutItems",
        "PutUsers",
        "PutActions",
        "PutActionInteractions",
    }


def make_group(personalize: Any, name: str, **kwargs: Any) -> str:
    arn: str = personalize.create_dataset_group(name=name, **kwargs)["datasetGroupArn"]
    return arn


def test_dataset_group_lifecycle_and_arn(personalize: Any, unique: str) -> None:
    arn = make_group(personalize, unique, tags=[{"tagKey": "team", "tagValue": "recs"}])
    assert arn == f"arn:aws:personalize:{REGION}:{ACCOUNT}:dataset-group/{unique}"
    group = personalize.describe_dataset_group(datasetGroupArn=arn)["datasetGroup"]
    assert group["status"] == "ACTIVE"
    assert group["name"] == unique
    assert "domain" not in group
    assert personalize.list_tags_for_resource(resourceArn=arn)["tags"] == [
        {"tagKey": "team", "tagValue": "recs"}
    ]
    code, message = error_of(personalize.create_dataset_group, name=unique)
    assert code == "ResourceAlreadyExistsException"
    assert arn in message
    personalize.delete_dataset_group(datasetGroupArn=arn)
    described = personalize.describe_dataset_group(datasetGroupArn=arn)["datasetGroup"]
    assert described["status"] == "DELETE PENDING"
    code, message = error_of(personalize.describe_dataset_group, datasetGroupArn=arn)
    assert code == "ResourceNotFoundException"
    assert message == f"Resource Arn {arn} does not exist."


def test_validation_errors_name_the_field_and_rule(personalize: Any) -> None:
    code, message = error_of(personalize.create_dataset_group, name="bad name!")
    assert code == "InvalidInputException"
    assert "'name'" in message and "regular expression pattern" in message
    code, message = error_of(personalize.create_dataset_group, name="x" * 64)
    assert code == "InvalidInputException"
    assert "length less than or equal to 63" in message
    code, message = error_of(personalize.create_dataset_group, name="ok", domain="RETAIL")
    assert code == "InvalidInputException"
    assert "enum value set" in message
    code, message = error_of(personalize.describe_dataset_group, datasetGroupArn="not-an-arn")
    assert code == "InvalidInputException"


def test_unknown_arn_is_resource_not_found(personalize: Any) -> None:
    arn = f"arn:aws:personalize:{REGION}:{ACCOUNT}:solution/nope"
    code, message = error_of(personalize.describe_solution, solutionArn=arn)
    assert code == "ResourceNotFoundException"
    assert message == f"Resource Arn {arn} does not exist."


def test_schema_dataset_filter_solution_workflow(personalize: Any, unique: str) -> None:
    group = make_group(personalize, unique)
    schema = personalize.create_schema(name=f"{unique}-i", schema=BASIC_INTERACTIONS)["schemaArn"]
    items_schema = personalize.create_schema(name=f"{unique}-m", schema=ITEMS_SCHEMA)["schemaArn"]
    dataset = personalize.create_dataset(
        name=f"{unique}-ds", schemaArn=schema, datasetGroupArn=group, datasetType="Interactions"
    )["datasetArn"]
    # Clients build this ARN themselves: upper-case type even though the request said Interactions.
    assert dataset == f"arn:aws:personalize:{REGION}:{ACCOUNT}:dataset/{unique}/INTERACTIONS"
    assert dataset.split("/")[1] == unique
    personalize.create_dataset(
        name=f"{unique}-items", schemaArn=items_schema, datasetGroupArn=group, datasetType="items"
    )
    described = personalize.describe_dataset(datasetArn=dataset)["dataset"]
    assert described["status"] == "ACTIVE" and described["datasetType"] == "Interactions"

    filter_arn = personalize.create_filter(
        name=f"{unique}-f",
        datasetGroupArn=group,
        filterExpression='EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("watch")',
    )["filterArn"]
    assert filter_arn.endswith(f":filter/{unique}-f")
    listed = personalize.list_filters(datasetGroupArn=group)["Filters"]
    assert [f["filterArn"] for f in listed] == [filter_arn]
    code, message = error_of(
        personalize.create_filter,
        name=f"{unique}-bad",
        datasetGroupArn=group,
        filterExpression="EXCLUDE ItemID WHERE Items.NOPE IN (",
    )
    assert code == "InvalidInputException"

    solution = personalize.create_solution(
        name=f"{unique}-s",
        datasetGroupArn=group,
        recipeArn="arn:aws:personalize:::recipe/aws-user-personalization",
        solutionConfig={"algorithmHyperParameters": {"hidden_dimension": "64"}},
    )["solutionArn"]
    got = personalize.describe_solution(solutionArn=solution)["solution"]
    assert got["status"] == "ACTIVE"
    assert got["performAutoTraining"] is True
    code, message = error_of(
        personalize.create_solution,
        name=f"{unique}-s2",
        datasetGroupArn=group,
        recipeArn="arn:aws:personalize:::recipe/aws-user-personalization",
        solutionConfig={"algorithmHyperParameters": {"hidden_dimension": "4096"}},
    )
    assert code == "InvalidInputException" and "hidden_dimension" in message
    code, _ = error_of(
        personalize.create_solution,
        name=f"{unique}-s3",
        datasetGroupArn=group,
        recipeArn="arn:aws:personalize:::recipe/aws-ecomm-recommended-for-you",
    )
    assert code == "InvalidInputException"

    # Deletion order is enforced.
    code, _ = error_of(personalize.delete_dataset_group, datasetGroupArn=group)
    assert code == "ResourceInUseException"
    code, _ = error_of(personalize.delete_schema, schemaArn=schema)
    assert code == "ResourceInUseException"
    personalize.delete_solution(solutionArn=solution)
    personalize.delete_filter(filterArn=filter_arn)
    for ds in personalize.list_datasets(datasetGroupArn=group)["datasets"]:
        personalize.delete_dataset(datasetArn=ds["datasetArn"])
    personalize.delete_dataset_group(datasetGroupArn=group)
    personalize.delete_schema(schemaArn=schema)


def test_paginators_and_tokens(personalize: Any, unique: str) -> None:
    arns = {make_group(personalize, f"{unique}-{i}") for i in range(7)}
    paginator = personalize.get_paginator("list_dataset_groups")
    seen = [
        g["datasetGroupArn"]
        for page in paginator.paginate(PaginationConfig={"PageSize": 2})
        for g in page["datasetGroups"]
    ]
    assert arns <= set(seen)
    assert len(seen) == len(set(seen))
    code, _ = error_of(personalize.list_dataset_groups, nextToken="garbage")
    assert code == "InvalidNextTokenException"


def test_list_recipes_pages_and_domains(personalize: Any) -> None:
    first = personalize.list_recipes()
    assert "nextToken" in first
    # A workshop pages with the first token unconditionally.
    personalize.list_recipes(nextToken=first["nextToken"])
    names = {
        r["name"]
        for page in personalize.get_paginator("list_recipes").paginate()
        for r in page["recipes"]
    }
    assert {"aws-user-personalization", "aws-sims", "aws-ecomm-recommended-for-you"} <= names
    domain = [
        r
        for page in personalize.get_paginator("list_recipes").paginate(domain="ECOMMERCE")
        for r in page["recipes"]
    ]
    assert domain and all(r["domain"] == "ECOMMERCE" for r in domain)
    recipe = personalize.describe_recipe(recipeArn="arn:aws:personalize:::recipe/aws-sims")[
        "recipe"
    ]
    assert recipe["recipeType"] == "RELATED_ITEMS"
    algorithm = personalize.describe_algorithm(algorithmArn=recipe["algorithmArn"])["algorithm"]
    assert "popularity_discount_factor" in algorithm["defaultHyperParameters"]
    code, _ = error_of(
        personalize.describe_recipe, recipeArn="arn:aws:personalize:::recipe/aws-nope"
    )
    assert code == "ResourceNotFoundException"


def test_tags_limits(personalize: Any, unique: str) -> None:
    arn = make_group(personalize, unique)
    personalize.tag_resource(
        resourceArn=arn, tags=[{"tagKey": f"k{i}", "tagValue": "v"} for i in range(50)]
    )
    code, _ = error_of(
        personalize.tag_resource, resourceArn=arn, tags=[{"tagKey": "one-more", "tagValue": "v"}]
    )
    assert code == "TooManyTagsException"
    personalize.untag_resource(resourceArn=arn, tagKeys=["k0", "k1"])
    keys = {t["tagKey"] for t in personalize.list_tags_for_resource(resourceArn=arn)["tags"]}
    assert len(keys) == 48 and "k0" not in keys


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "status", "code"),
    [
        (
            "POST",
            "/",
            {"X-Amz-Target": "AmazonPersonalize.Nope"},
            "{}",
            400,
            "UnknownOperationException",
        ),
        (
            "POST",
            "/",
            {"X-Amz-Target": "AmazonPersonalize.ListSchemas"},
            "{not json",
            400,
            "SerializationException",
        ),
        (
            "POST",
            "/",
            {"X-Amz-Target": "AmazonPersonalize.ListSchemas"},
            "[1]",
            400,
            "SerializationException",
        ),
        (
            "POST",
            "/",
            {"X-Amz-Target": "AmazonPersonalize.ListSchemas"},
            '{"maxResults": "ten"}',
            400,
            "InvalidInputException",
        ),
        ("GET", "/recommendations", {}, "", 405, "MethodNotAllowedException"),
        ("POST", "/no-such-path", {}, "{}", 404, "UnknownOperationException"),
        ("POST", "/recommendations", {}, '{"campaignArn": 5}', 400, "InvalidInputException"),
    ],
)
def test_bad_requests_get_aws_shaped_errors(
    server: RunningServer,
    method: str,
    path: str,
    headers: dict[str, str],
    body: str,
    status: int,
    code: str,
) -> None:
    response = httpx.request(method, server.url + path, headers=headers, content=body)
    assert response.status_code == status
    payload = json.loads(response.text)
    assert payload["__type"] == code
    assert payload["message"]
    assert response.headers["x-amzn-ErrorType"] == code
    assert "Traceback" not in response.text
