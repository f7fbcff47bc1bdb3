"""Stopping a run cleanly when the machine is taken away: SIGTERM (a spot VM's notice) or SIGINT (Ctrl-C).

A preemptible cloud VM gets a SIGTERM and about 30 seconds before it stops.
`StopOnSignal` turns the first SIGTERM or SIGINT into a clean stop: the step
in progress finishes, the backup saves that exact step, `fit` ends without
exporting and the train CLI exits with `EXIT_STOPPED` after one line saying
where it stopped and how to resume. A second signal while stopping acts as it
would without the callback (SIGTERM terminates, SIGINT raises
KeyboardInterrupt), so a stuck run can still be killed.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading

import keras

from training.backup import ResumableBackup

# sysexits.h's EX_TEMPFAIL, "try again later": the run stopped on a signal and resumes when rerun.
EXIT_STOPPED = 75
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class RunStopped(RuntimeError):
    """Training stopped on a signal after backing up its last step; the message is the one line to print."""


class StopOnSignal(keras.callbacks.Callback):
    """On SIGTERM or SIGINT, ends training after the current step, once the backup holds that step.

    `handling_signals()` installs the handlers around training; the callback
    then stops at the end of the step during which the signal came.
    `message` says in one line where the run stopped and how to resume
    (None until a signal came); `training.fit` raises `RunStopped` with it.
    """

    def __init__(self, backup: ResumableBackup):
        super().__init__()
        self.backup = backup  # counts the steps and saves them
        self.signal_name = None
        self.message = None
        self._previous_handlers = {}

    @contextlib.contextmanager
    def handling_signals(self):
        """Within the block, the first SIGTERM or SIGINT asks training to stop; outside it, the old handlers.

        Python lets only the main thread install handlers: in another thread
        (a notebook's background job, say) the signals keep their handlers.
        """
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        self._previous_handlers = {number: signal.signal(number, self._on_signal) for number in STOP_SIGNALS}
        try:
            yield
        finally:
            for number, handler in self._previous_handlers.items():
                signal.signal(number, handler)

    def _on_signal(self, number, frame):
        if self.signal_name is not None:  # the second signal: act as if the callback were not there
            signal.signal(number, self._previous_handlers[number])
            signal.raise_signal(number)
            return
        self.signal_name = signal.Signals(number).name
        print(
            f"{self.signal_name} received: stopping after the current step, once it is backed up "
            "(send it again to stop at once).",
            file=sys.stderr,
            flush=True,
        )

    def on_train_batch_end(self, batch, logs=None):
        if self.signal_name is None or self.model.stop_training:
            return
        self.backup.save()
        self.message = self._describe_stop()
        self.model.stop_training = True

    def _describe_stop(self) -> str:
        step = self.backup.completed_steps
        epoch, step_in_epoch = divmod(step - 1, self.backup.steps_per_epoch)
        return (
            f"Stopped by {self.signal_name} after step {step} (epoch {epoch + 1}, step {step_in_epoch + 1} of "
            f"{self.backup.steps_per_epoch}); the backup in {self.backup.write_dir} holds step "
            f"{self.backup.backed_up_step}: rerun the same command to resume from there."
        )
