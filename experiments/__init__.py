"""Scripts behind the figures of docs/experiments.md; each row there has the command that reruns it."""
