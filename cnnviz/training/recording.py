"""The server's side of a run's folder: what a run's reports say, written there (run.json and
the model, each atomically, by runs.RunRecorder). A job without a run folder records nothing."""

import shutil
from pathlib import Path

from cnnviz.training.config import History, TrainConfig
from cnnviz.training.runs import RunRecorder


class RunRecord:
    """The record of one run followed from this process, in run_dir (None: not recorded)."""

    def __init__(self, run_dir, config: TrainConfig):
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.config = config
        self._recorder: RunRecorder | None = None

    @property
    def name(self) -> str | None:
        return self.run_dir.name if self.run_dir else None

    @property
    def model_path(self) -> Path | None:
        return self._recorder.model_path if self._recorder else None

    def queued(self, submitted: float, expected_seconds: float) -> None:
        if self.run_dir is not None:
            self._recorder = RunRecorder(self.run_dir, self.config, "queued", submitted=submitted,
                                         expected_seconds=expected_seconds)

    def running(self, worker: dict, started: float, expected_seconds: float) -> None:
        if self._recorder:
            self._recorder.write_status("running", History(), started=started, worker=worker,
                                        eta_at=started + expected_seconds)

    def checkpoint(self, model: bytes, history: History, status: str, eta_at: float) -> None:
        if self._recorder:
            self._recorder.write_model(model, history, status, eta_at=eta_at)

    def status(self, status: str, history: History, error: str | None = None) -> None:
        if self._recorder:
            self._recorder.write_status(status, history, error)

    def discard(self) -> None:
        """Remove the folder of a run that never trained."""
        if self.run_dir is not None:
            shutil.rmtree(self.run_dir, ignore_errors=True)
