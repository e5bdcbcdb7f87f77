"""The settings table feeds the CLI, the environment and docs/configuration.md."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from openpersonalize.cli import main
from openpersonalize.settings import SETTINGS, load_config, markdown_table

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_docs_list_every_setting() -> None:
    assert markdown_table() in DOCS.read_text(), (
        "docs/configuration.md is stale: regenerate the table with "
        "`openpersonalize settings --markdown`"
    )


def test_every_setting_is_a_serve_flag() -> None:
    help_text = CliRunner().invoke(main, ["serve", "--help"]).output
    for setting in SETTINGS:
        assert setting.flag in help_text


def test_environment_then_flags() -> None:
    config = load_config(
        {"port": 9000},
        environ={
            "OPENPERSONALIZE_PORT": "7000",
            "OPENPERSONALIZE_REGION": "eu-west-1",
            "OPENPERSONALIZE_INLINE_JOBS": "true",
        },
    )
    assert config.port == 9000
    assert config.region == "eu-west-1"
    assert config.inline_jobs is True
