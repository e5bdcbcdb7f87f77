"""State across restarts, SigV4 on non-loopback servers, and the stock AWS CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.contract.server import RunningServer
from tests.schemas import BASIC_INTERACTIONS


def test_state_survives_restart(tmp_path: Path) -> None:
    server = RunningServer(tmp_path / "data").start()
    try:
        client = server.client("personalize")
        group = client.create_dataset_group(
            name="survivor", tags=[{"tagKey": "k", "tagValue": "v"}]
        )["datasetGroupArn"]
        schema = client.create_schema(name="survivor-s", schema=BASIC_INTERACTIONS)["schemaArn"]
        before = client.describe_dataset_group(datasetGroupArn=group)["datasetGroup"]
    finally:
        server.stop()
    server.start()
    try:
        client = server.client("personalize")
        after = client.describe_dataset_group(datasetGroupArn=group)["datasetGroup"]
        assert after == before
        assert client.list_tags_for_resource(resourceArn=group)["tags"] == [
            {"tagKey": "k", "tagValue": "v"}
        ]
        assert client.describe_schema(schemaArn=schema)["schema"]["schema"] == BASIC_INTERACTIONS
    finally:
        server.stop()


def test_signatures_are_verified_when_keys_are_configured(tmp_path: Path) -> None:
    server = RunningServer(
        tmp_path / "data", {"access_keys": "AKIDEXAMPLE:s3cr3t", "host": "127.0.0.1"}
    ).start()
    try:
        good = server.client("personalize", key="AKIDEXAMPLE", secret="s3cr3t")
        good.list_dataset_groups()
        good.create_dataset_group(name="signed")
        with pytest.raises(ClientError) as info:
            server.client("personalize", key="AKIDEXAMPLE", secret="wrong").list_dataset_groups()
        assert info.value.response["Error"]["Code"] == "InvalidSignatureException"
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        with pytest.raises(ClientError) as info:
            server.client("personalize", key="NOBODY", secret="x").list_dataset_groups()
        assert info.value.response["Error"]["Code"] == "UnrecognizedClientException"
        runtime = server.client("personalize-runtime", key="AKIDEXAMPLE", secret="wrong")
        with pytest.raises(ClientError) as info:
            runtime.get_recommendations(campaignArn="arn:aws:personalize:us-east-1:1:campaign/x")
        assert info.value.response["Error"]["Code"] == "InvalidSignatureException"
    finally:
        server.stop()


def start_refused(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``openpersonalize <command>`` with ``env``, for configurations it must refuse at start."""
    return subprocess.run(
        [sys.executable, "-m", "openpersonalize", command, "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_refuses_non_loopback_without_keys(tmp_path: Path) -> None:
    env = dict(os.environ, OPENPERSONALIZE_DATA_DIR=str(tmp_path), OPENPERSONALIZE_HOST="0.0.0.0")
    env.pop("OPENPERSONALIZE_ACCESS_KEYS", None)
    result = start_refused("serve", env)
    assert result.returncode == 2
    assert "access keys" in result.stderr


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_refuses_a_metadata_url(tmp_path: Path, command: str) -> None:
    """Only the SQLite store is built: a PostgreSQL URL is refused, never silently ignored."""
    env = dict(
        os.environ,
        OPENPERSONALIZE_DATA_DIR=str(tmp_path),
        OPENPERSONALIZE_METADATA_URL="postgresql://op:secret@db.example/op",
    )
    result = start_refused(command, env)
    assert result.returncode == 2
    assert "PostgreSQL is not supported yet" in result.stderr
    assert "secret" not in result.stderr  # the password is not echoed
    assert not (tmp_path / "metadata.sqlite3").exists()


def aws(server: RunningServer, *args: str) -> Any:
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
    )
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "aws"),
            "personalize",
            *args,
            "--endpoint-url",
            server.url,
            "--output",
            "json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result


def test_aws_cli(server: RunningServer) -> None:
    listed = aws(server, "list-recipes")
    assert listed.returncode == 0, listed.stderr
    recipes = json.loads(listed.stdout)["recipes"]
    assert any(r["name"] == "aws-user-personalization" for r in recipes)
    created = aws(server, "create-dataset-group", "--name", "from-cli")
    assert created.returncode == 0, created.stderr
    arn = json.loads(created.stdout)["datasetGroupArn"]
    described = json.loads(aws(server, "describe-dataset-group", "--dataset-group-arn", arn).stdout)
    assert described["datasetGroup"]["status"] == "ACTIVE"
    missing = aws(
        server,
        "describe-solution",
        "--solution-arn",
        "arn:aws:personalize:us-east-1:123456789012:solution/none",
    )
    assert missing.returncode != 0
    assert "ResourceNotFoundException" in missing.stderr
