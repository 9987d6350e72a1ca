"""specweave_ml: record ML experiments as plain files in your repository.

Experiments live in ``.specweave/increments/NNNN-slug/experiments/<name>/`` as ``params.json``,
``metrics.json``, ``metadata.yaml``, ``history.jsonl`` and artifact files, in the format of docs/format.md that the
specweave-ml MCP server reads and writes too. Standard library only.

    from specweave_ml import track_experiment

    with track_experiment("random-forest", params={"n_estimators": 300}) as exp:
        ...
        exp.log_metric("accuracy", 0.93)
        exp.save_model(model, "model")
"""

from .explain import ExplainInputError, ExplanationResult, explain
from .errors import (FormatError, IncrementNotFoundError, InvalidNameError, LockTimeoutError, SandboxError,
                     SpecweaveError)
from .export import ExportError, export_experiments
from .mlflow_integration import configure_mlflow
from ._project import find_project_root, resolve_increment
from .sklearn_cv import track_cross_validation
from .loadgen import LoadTestError, record_load_test, run_load_test
from .tracking import Experiment, InputSchemaError, read_experiment, track_experiment
from .registry import ModelRegistry
from .wandb_integration import configure_wandb

__version__ = "0.1.0"

__all__ = [
    "track_experiment", "track_cross_validation", "configure_mlflow", "configure_wandb", "read_experiment", "Experiment",
    "find_project_root", "resolve_increment", "SpecweaveError", "IncrementNotFoundError", "InvalidNameError",
    "FormatError", "LockTimeoutError", "SandboxError", "__version__",
    "explain", "ExplanationResult", "ExplainInputError", "ModelRegistry",
    "export_experiments", "ExportError",
    "run_load_test", "record_load_test", "LoadTestError", "InputSchemaError",
]
