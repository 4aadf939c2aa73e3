"""Checkpoints for long training runs: periodic, on SIGTERM/SIGUSR1, resumable.

A training loop calls :meth:`Checkpointer.step_done` after every step.  The checkpoint
(everything the loop needs to continue exactly: model and optimiser state, RNG states,
sampler state, step counter, loss history) is written atomically (temporary name,
fsync, rename) every ``every`` steps, and also when SIGTERM or SIGUSR1 arrives; Slurm
sends one of these before a time limit or a preemption.  After a signal the loop saves
and leaves with :data:`EXIT_PREEMPTED`, so Snakemake/Slurm retry the job, and the
rerun resumes from the checkpoint.  A resumed run gives bit-identical results to an
unbroken one on the same machine, because the saved state is the complete state.

A checkpoint carries the fingerprint (config hash) of the run that wrote it; one with
another fingerprint is never resumed from (it is moved aside with a warning).
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

EXIT_PREEMPTED = 75
"""Exit status after a signal-triggered checkpoint (EX_TEMPFAIL: try again)."""

log = logging.getLogger("rgpipe")


class Preempted(SystemExit):
    """Raised after the checkpoint that follows SIGTERM/SIGUSR1 has been written."""

    def __init__(self, signum: int):
        super().__init__(EXIT_PREEMPTED)
        self.signum = signum


def rng_state() -> dict[str, Any]:
    """Global RNG states of python and torch (CPU and CUDA).

    numpy randomness in rgpipe goes through explicit Generators, which trainers save
    with the rest of their state.
    """
    state = {"python": random.getstate(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Inverse of :func:`rng_state`."""
    random.setstate(state["python"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class Checkpointer:
    """Periodic and signal-triggered checkpoints of one training job.

    A job may hold several checkpoints (one per group of models, or one per rank), each a
    named file in ``directory``.

    Args:
        directory: where the checkpoint files live (created on first save).
        every: steps between periodic checkpoints (0: only on signals).
        fingerprint: identifies the run (e.g. the config sha256).
        signals: signals that request checkpoint-and-exit.
        enabled: False makes saving a no-op (e.g. on ranks that do not write).
    """

    def __init__(
        self,
        directory: str | Path,
        every: int,
        fingerprint: str,
        signals: tuple[int, ...] = (signal.SIGTERM, signal.SIGUSR1),
        enabled: bool = True,
    ):
        self.directory = Path(directory)
        self.every = int(every)
        self.fingerprint = fingerprint
        self.enabled = enabled
        self.requested: int | None = None
        self._previous: dict[int, Any] = {}
        for sig in signals:
            self._previous[sig] = signal.signal(sig, self._on_signal)

    def _on_signal(self, signum: int, _frame: Any) -> None:
        log.warning("received signal %d: checkpointing at the end of this step", signum)
        self.requested = signum

    def restore_handlers(self) -> None:
        """Put back the signal handlers that were there before."""
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def path(self, name: str) -> Path:
        """The file of checkpoint ``name``."""
        return self.directory / f"{name}.pt"

    def load(self, name: str, resuming: bool = True) -> dict[str, Any] | None:
        """The saved state ``name`` of this run, or None (none, or another run's);
        ``resuming`` logs that a run continues from it."""
        path = self.path(name)
        if not path.exists():
            return None
        state = torch.load(path, map_location="cpu", weights_only=False)
        if state.get("fingerprint") != self.fingerprint:
            aside = path.with_name(path.name + ".foreign")
            log.warning("checkpoint %s belongs to another run; moved to %s", path, aside)
            os.replace(path, aside)
            return None
        if resuming:
            log.info("resuming %s at step %s", path, state.get("step", "?"))
        return state["state"]

    def save(self, name: str, state: dict[str, Any], step: int | None = None) -> None:
        """Write checkpoint ``name`` atomically (temporary file, fsync, rename)."""
        if not self.enabled:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.path(name)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as fh:
            torch.save({"state": state, "step": step, "fingerprint": self.fingerprint}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    def stop_requested(self, agree: Callable[[bool], bool] | None = None) -> bool:
        """Whether a signal asked to stop; ``agree`` makes the decision collective (e.g. an
        all-reduce over data-parallel ranks, which must stop at the same step)."""
        flag = self.requested is not None
        return agree(flag) if agree is not None else flag

    def step_done(
        self,
        name: str,
        step: int,
        state_fn: Callable[[], dict[str, Any]],
        agree: Callable[[bool], bool] | None = None,
    ) -> None:
        """Call after completing step number ``step`` (1-based count of steps done).

        Saves every ``every`` steps; after a signal saves and raises :class:`Preempted`.
        """
        if self.stop_requested(agree):
            self.save(name, state_fn(), step)
            log.warning("checkpoint %s written at step %d; exiting for a retry", name, step)
            raise Preempted(self.requested or signal.SIGTERM)
        if self.every and step % self.every == 0:
            self.save(name, state_fn(), step)

    def remove(self, name: str) -> None:
        """Drop checkpoint ``name`` (its work is stored elsewhere now)."""
        if self.enabled:
            self.path(name).unlink(missing_ok=True)

    def finish(self) -> None:
        """The final output is safely written: remove every checkpoint of this job."""
        self.restore_handlers()
        if self.enabled and self.directory.exists():
            for path in self.directory.glob("*.pt*"):
                path.unlink()
            with contextlib.suppress(OSError):
                self.directory.rmdir()
