"""Point MLflow at an increment through the ``specweave`` tracking store, so MLflow runs are experiments."""

import importlib.util
import os
import sys
from pathlib import Path
from typing import Optional, Union
from urllib.parse import quote

from . import _fs
from ._project import find_project_root, read_increment_metadata, resolve_increment

__all__ = ["configure_mlflow", "store_uri", "SCHEME"]

#: The URI scheme of the tracking store (specweave_ml.mlflow_store), registered through MLflow's entry points.
SCHEME = "specweave"


def store_uri(root, increment: Optional[str] = None) -> str:
    """The ``specweave:`` tracking URI of a project (every increment) or of one increment of it, absolute, so
    that it means the same in a child process started in another folder."""
    uri = "%s:%s" % (SCHEME, quote(Path(_fs.real_path(root)).as_posix()))
    return uri + ("?increment=" + quote(increment) if increment else "")


def configure_mlflow(increment: Optional[Union[str, int]] = None) -> str:
    """Makes MLflow write into an increment's experiments and returns the tracking URI used,
    ``specweave:/<project root>?increment=<increment folder>``.

    Every MLflow run then becomes an experiment folder of the increment (docs/mlflow.md): params, metrics with their
    step history, tags, notes, status and times, nested runs, artifacts and logged models; ``mlflow.search_runs``,
    ``get_run`` and ``get_metric_history`` read them back, and the MCP tools see them at once, with no import step.
    The increment is resolved as in :func:`~specweave_ml.track_experiment` (raises
    :class:`~specweave_ml.errors.IncrementNotFoundError` listing the candidates); MLflow's default experiment is
    that increment.

    The ``MLFLOW_TRACKING_URI`` environment variable is always set (child processes and a later ``import mlflow``
    pick it up; they find the ``specweave`` scheme when the package is installed, ``pip install <plugin>/python``).
    If mlflow is importable, ``mlflow.set_tracking_uri`` is called too, after registering the scheme in this
    process, so it works even when the package is only on ``PYTHONPATH``. Nothing is written until a run starts.
    """
    root = find_project_root()
    name, inc_dir = resolve_increment(root, increment)
    read_increment_metadata(inc_dir)  # refuses an increment (or metadata.json) link leaving the project, now
    uri = store_uri(root, name)
    os.environ["MLFLOW_TRACKING_URI"] = uri
    mlflow = sys.modules.get("mlflow")
    if mlflow is None:
        try:
            found = importlib.util.find_spec("mlflow") is not None
        except (ImportError, ValueError):
            found = False
        if found:
            import mlflow  # noqa: F811
    if mlflow is not None and hasattr(mlflow, "set_tracking_uri"):
        _register_scheme()
        mlflow.set_tracking_uri(uri)
    return uri


def _register_scheme() -> None:
    """Registers the store and artifact repository with MLflow in this process (the entry points do the same for
    an installed package; this covers a package used from PYTHONPATH). Skipped for a stand-in mlflow module."""
    try:
        from mlflow.store.artifact.artifact_repository_registry import _artifact_repository_registry
        from mlflow.tracking._tracking_service.utils import _tracking_store_registry
        from .mlflow_store import SCHEME, SpecweaveArtifactRepository, SpecweaveStore
    except ImportError:
        return
    _tracking_store_registry.register(SCHEME, SpecweaveStore)
    _artifact_repository_registry.register(SCHEME, SpecweaveArtifactRepository)
