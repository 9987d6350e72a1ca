"""Point MLflow at a file store inside the increment, so MLflow runs land next to the experiments."""

import importlib.util
import os
import sys
from pathlib import Path
from typing import Optional, Union

from . import _fs
from ._project import find_project_root, resolve_increment

__all__ = ["configure_mlflow"]


def configure_mlflow(increment: Optional[Union[str, int]] = None) -> str:
    """Sets MLflow's tracking URI to ``file://<increment dir>/mlruns`` and returns that URI.

    The ``MLFLOW_TRACKING_URI`` environment variable is always set (child processes and a later ``import mlflow``
    pick it up); if mlflow is importable, ``mlflow.set_tracking_uri`` is called too. The increment is resolved as
    in :func:`~specweave_ml.track_experiment`. The ``mlruns`` folder is created. Import the runs later with the
    server's importer to turn them into experiments.
    """
    _, inc_dir = resolve_increment(find_project_root(), increment)
    store = inc_dir / "mlruns"
    _fs.make_dirs(store)  # refuses an mlruns (or increment) link leaving the project
    uri = Path(_fs.real_path(store)).as_uri()
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
        mlflow.set_tracking_uri(uri)
    return uri
