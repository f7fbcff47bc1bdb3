import training.quiet_logs  # noqa: F401  (first, before TensorFlow's import: quiet CLI logs)
