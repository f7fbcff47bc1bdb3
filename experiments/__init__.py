"""Scripts behind the figures of docs/experiments.md; each row there has the command that reruns it."""

import training.quiet_logs  # noqa: F401  (first, before TensorFlow's import: quiet CLI logs)
