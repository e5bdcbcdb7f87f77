"""The ``openpersonalize`` command."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from openpersonalize import __version__
from openpersonalize.settings import SETTINGS, Config, load_config, markdown_table


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
    from openpersonalize.server import serve as run_server

    _run(run_server, load_config(flags))


@main.command()
@_setting_options
def worker(**flags: Any) -> None:
    """Run a job worker against the data directory / metadata store."""
    from openpersonalize.server import run_worker

    _run(run_worker, load_config(flags))


def _run(command: Callable[[Config], None], config: Config) -> None:
    """Runs a long-lived command; a configuration it refuses ends the process with status 2."""
    from openpersonalize.server import ConfigError

    try:
        command(config)
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


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


@main.command()
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option(
    "--preset",
    type=click.Choice(["custom", "ecommerce", "video_on_demand"]),
    default="custom",
    show_default=True,
    help="Domain layout of the data.",
)
@click.option("--users", "n_users", type=int, default=1000, show_default=True)
@click.option("--items", "n_items", type=int, default=1000, show_default=True)
@click.option("--interactions", "n_interactions", type=int, default=20000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "csv.gz", "parquet"]),
    default="csv",
    show_default=True,
)
def generate(
    out_dir: str, preset: str, n_users: int, n_items: int, n_interactions: int, seed: int, fmt: str
) -> None:
    """Write a synthetic dataset group (CSV files plus their Avro schemas) into OUT_DIR."""
    from openpersonalize.datasets import generate as make
    from openpersonalize.datasets import write

    dataset = make(
        preset, n_users=n_users, n_items=n_items, n_interactions=n_interactions, seed=seed
    )
    paths = write(dataset, out_dir, fmt, with_schemas=True)  # type: ignore[arg-type]
    for name, path in sorted(paths.items()):
        click.echo(f"{name}: {path}")


@main.command()
@click.option(
    "--endpoint-url",
    default=None,
    help="Run against this running server instead of starting one (e.g. http://127.0.0.1:8080). "
    "It must be able to read the demo's CSV files, i.e. run on this machine.",
)
@click.option(
    "--port",
    type=int,
    default=None,
    help="Port of the server the demo starts (default 8080 when free, else any free port).",
)
@click.option(
    "--data-dir",
    default=None,
    help="Data directory of the server the demo starts (default: a temporary directory, "
    "removed when the demo ends).",
)
@click.option(
    "--size",
    type=click.Choice(["small", "medium"]),
    default="small",
    show_default=True,
    help="Per dataset group: small = 1,000 users, 1,000 items, 20,000 interactions; medium = "
    "5,000 / 3,000 / 150,000. Both meet Amazon Personalize's minimum-data rules.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the synthetic data.")
@click.option(
    "--workers",
    type=int,
    default=2,
    show_default=True,
    help="Job workers of the server the demo starts.",
)
@click.option(
    "--wait/--no-wait",
    default=True,
    show_default=True,
    help="Keep the server the demo started running until Ctrl-C.",
)
def demo(
    endpoint_url: str | None,
    port: int | None,
    data_dir: str | None,
    size: str,
    seed: int,
    workers: int,
    wait: bool,
) -> None:
    """Run the custom and the domain (ECOMMERCE) workflow on synthetic data, through boto3.

    Prints every step with progress bars, the offline metrics, sample recommendations with item
    names and what a PutEvents call changes, then leaves the server running with its console.
    """
    from openpersonalize.demo import DemoOptions, run

    options = DemoOptions(endpoint_url, port, data_dir, size, seed, wait, workers)
    sys.exit(run(options))


@main.command()
@click.option("--data-dir", default=None, help="Data directory to check.")
def doctor(data_dir: str | None) -> None:
    """Versions, BLAS threads and the health of the data directory."""
    import platform

    import botocore
    import numpy
    import pyarrow

    config = load_config({"data_dir": data_dir})
    click.echo(f"openpersonalize {__version__} on Python {platform.python_version()}")
    click.echo(
        f"numpy {numpy.__version__}, pyarrow {pyarrow.__version__}, botocore {botocore.__version__}"
    )
    try:
        from threadpoolctl import threadpool_info

        for pool in threadpool_info():
            click.echo(
                f"  {pool.get('internal_api')}: {pool.get('num_threads')} threads "
                f"({pool.get('filepath')})"
            )
    except ImportError:
        click.echo("  (install threadpoolctl to see BLAS threads)")
    path = config.data_path
    if not path.exists():
        click.echo(f"data directory {path}: not created yet")
        return
    from openpersonalize.store.metadata import MetadataStore

    store = MetadataStore(path / "metadata.sqlite3")
    check = store._connect().execute("PRAGMA integrity_check").fetchone()[0]
    click.echo(f"data directory {path}: metadata integrity {check}")
    for kind in ("dataset-group", "dataset", "solution", "solution-version", "campaign"):
        click.echo(f"  {kind}: {store.count(kind)}")


@main.command("export-model")
@click.argument("solution_version_arn")
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--data-dir", default=None, help="Data directory of the server (default: settings).")
def export_model(solution_version_arn: str, out_dir: str, data_dir: str | None) -> None:
    """Export the model of an ACTIVE solution version (or recommender) into OUT_DIR.

    Writes npz and Parquet files with a README (docs/model-export.md). Reads the data directory
    directly, so the server may be running or not.
    """
    from openpersonalize.engine.artifacts import ArtifactError
    from openpersonalize.engine.artifacts import export_model as export
    from openpersonalize.store.metadata import MetadataStore

    config = load_config({"data_dir": data_dir})
    store_path = config.data_path / "metadata.sqlite3"
    if not store_path.is_file():
        raise click.ClickException(f"no openpersonalize data directory at {config.data_path}")
    resource = MetadataStore(store_path).find(solution_version_arn)
    if resource is None or resource.deleted_at is not None:
        raise click.ClickException(f"{solution_version_arn} does not exist in {config.data_path}")
    artifact = resource.body.get("artifact")
    if resource.status != "ACTIVE" or not isinstance(artifact, str) or not artifact:
        raise click.ClickException(
            f"{solution_version_arn} is {resource.status}; only an ACTIVE, trained model can be "
            "exported."
        )
    try:
        path = export(config.data_path / artifact, out_dir)
    except (ArtifactError, OSError) as exc:
        raise click.ClickException(f"cannot export {solution_version_arn}: {exc}") from None
    click.echo(f"exported {solution_version_arn} to {path}")
