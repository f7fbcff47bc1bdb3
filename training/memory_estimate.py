"""The training memory a train CLI's `--dry_run` prints before anything is built (U-GAT-IT's, StarGAN v2's)."""

from __future__ import annotations

import dataclasses

GB = 1e9


@dataclasses.dataclass(frozen=True)
class MemoryEstimate:
    """An estimate of a training run's memory: its networks' parameters, the state kept beside them and the
    activations one step keeps for its backward pass."""

    network_parameters: dict  # {network: parameter count}
    state_bytes: int  # weights, optimizer moments, gradients (and any averages)
    activation_bytes: int
    state_contents: str = "weights, Adam moments and gradients"

    @property
    def parameters(self) -> int:
        return sum(self.network_parameters.values())

    @property
    def total_bytes(self) -> int:
        return self.state_bytes + self.activation_bytes

    def describe(self) -> str:
        return (
            f"{self.parameters:,} parameters; estimated training memory {self.total_bytes / GB:.1f} GB "
            f"({self.state_contents} {self.state_bytes / GB:.1f} GB, activations {self.activation_bytes / GB:.1f} GB)"
        )
