"""The ``openpersonalize`` command."""

from __future__ import annotations

import sys
from typing import Any

import click

from openpersonalize import __version__
from openpersonalize.settings import SETTINGS, load_config, markdown_table


def _setting_options(function: Any) -> Any:
    for setting in reversed(SETTINGS):
        kind = setting.kind
        if kind is bool:
            option = click.option(
                setting.flag + "/--no-" + setting.flag[2:],
                setting.name,
                default=None,
                help=setting.help,
            )
        else:
            option = click.option(
                setting.flag,
                setting.name,
                type=kind,
                default=None,
                help=f"{setting.help} [env {setting.env}; default {setting.default!r}]",
            )
        function = option(function)
    return function


@click.group()
@click.version_option(__version__, prog_name="openpersonalize")
def main() -> None:
    """openpersonalize: the Amazon Personalize APIs on your own machine."""


@main.command()
@_setting_options
def serve(**flags: Any) -> None:
    """Start the server (control plane, runtime, events, console) with its job workers."""
    from openpersonalize.server import ConfigError
    from openpersonalize.server import serve as run_server

    config = load_config(flags)
    try:
        run_server(config)
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


@main.command()
@_setting_options
def worker(**flags: Any) -> None:
    """Run a job worker against the data directory / metadata store."""
    from openpersonalize.server import run_worker

    run_worker(load_config(flags))


@main.command()
@click.option("--markdown", is_flag=True, help="Print the settings table as Markdown.")
def settings(markdown: bool) -> None:
    """List every setting with its flag, environment variable and default."""
    if markdown:
        click.echo(markdown_table(), nl=False)
        return
    config = load_config()
    for setting in SETTINGS:
        click.echo(f"{setting.name} = {getattr(config, setting.name)!r}  ({setting.env})")
