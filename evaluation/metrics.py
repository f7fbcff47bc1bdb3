"""Sample-quality metrics from network activations: FID, KID and the Inception Score.

Everything here is NumPy (float64) on activations; `evaluation.features`
computes them with InceptionV3, batch by batch.

FID (Heusel et al. 2017), the Fréchet distance between Gaussians fitted to
the 2048-d pool features of two samples:

    FID = ||mu_1 - mu_2||^2 + Tr(C_1) + Tr(C_2) - 2 Tr(sqrtm(C_1 C_2))

It is biased at small n (it falls as n grows), so compare FIDs only at equal
sample counts.

KID (Bińkowski et al. 2018), the unbiased MMD^2 between the two feature
distributions with the polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged
over random subsets of m features from each side:

    MMD^2_u = 1/(m(m-1)) sum_{i!=j} k(x_i, x_j) + 1/(m(m-1)) sum_{i!=j} k(y_i, y_j)
              - 2/m^2 sum_{i,j} k(x_i, y_j)

Unbiased: its mean over samples of one distribution is 0 (single values can
be slightly negative).

IS (Salimans et al. 2016), from the classifier's p(y|x), on each of 10
contiguous splits:

    IS = exp(E_x KL(p(y|x) || p(y))),   p(y) = E_x p(y|x) over the split

It runs from 1 (every image gets the same prediction) to the number of
classes (confident predictions spread evenly over the classes).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.special

# sqrtm of a singular C_1 C_2 (fewer samples than dimensions) can come out non-finite; this much of
# the identity added to both covariances makes the product invertible (pytorch-fid's safeguard).
SQRTM_EPSILON = 1e-6
# Round-off leaves an imaginary part on sqrtm of the (real, PSD-similar) product; more than this on
# the diagonal means the covariances are not what they should be.
MAX_IMAGINARY_COMPONENT = 1e-3
KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000
IS_SPLITS = 10


@dataclass(frozen=True)
class Score:
    """A metric as mean ± std (std 0 when it has no spread, as FID) and the sample counts it used."""

    mean: float
    std: float = 0.0
    counts: tuple[int, ...] = ()

    def __str__(self) -> str:
        value = f"{self.mean:.4f}" if not self.std else f"{self.mean:.4f} ± {self.std:.4f}"
        return f"{value} (n = {' vs '.join(str(count) for count in self.counts)})" if self.counts else value


# -- FID -----------------------------------------------------------------------------------------


class RunningMoments:
    """Mean and covariance of a stream of feature batches, without keeping the features.

    Batches are merged by Chan et al.'s parallel update (stable where the naive
    sum of x x^T minus n mu mu^T loses precision): for a batch b with n_b rows,
    mean mu_b and scatter M_b = sum (x - mu_b)(x - mu_b)^T,

        delta = mu_b - mu,   M += M_b + delta delta^T n n_b / (n + n_b),
        mu += delta n_b / (n + n_b),   n += n_b,   C = M / (n - 1).
    """

    def __init__(self, dimensions: int):
        self.count = 0
        self.mean = np.zeros(dimensions, np.float64)
        self.scatter = np.zeros((dimensions, dimensions), np.float64)

    def update(self, features) -> None:
        features = np.asarray(features, np.float64).reshape(-1, self.mean.shape[0])
        batch_count = len(features)
        if not batch_count:
            return
        batch_mean = features.mean(axis=0)
        centred = features - batch_mean
        delta = batch_mean - self.mean
        total = self.count + batch_count
        self.scatter += centred.T @ centred + np.outer(delta, delta) * (self.count * batch_count / total)
        self.mean += delta * (batch_count / total)
        self.count = total

    @property
    def covariance(self) -> np.ndarray:
        if self.count < 2:
            raise ValueError(f"a covariance needs at least 2 samples, got {self.count}")
        return self.scatter / (self.count - 1)


def frechet_distance(mean_1, covariance_1, mean_2, covariance_2, epsilon: float = SQRTM_EPSILON) -> float:
    """||mu_1 - mu_2||^2 + Tr(C_1) + Tr(C_2) - 2 Tr(sqrtm(C_1 C_2)), in float64.

    If sqrtm(C_1 C_2) is not finite (a singular product), retries with
    `epsilon` I added to both covariances. Drops the imaginary part round-off
    leaves on the root; raises ValueError if it is not negligible.
    """
    mean_1, mean_2 = np.asarray(mean_1, np.float64), np.asarray(mean_2, np.float64)
    covariance_1, covariance_2 = np.asarray(covariance_1, np.float64), np.asarray(covariance_2, np.float64)
    if mean_1.shape != mean_2.shape or covariance_1.shape != covariance_2.shape:
        raise ValueError(f"feature shapes differ: {mean_1.shape} vs {mean_2.shape}")
    root = _sqrtm(covariance_1 @ covariance_2)
    if not np.isfinite(root).all():
        offset = np.eye(len(covariance_1)) * epsilon
        root = _sqrtm((covariance_1 + offset) @ (covariance_2 + offset))
    if np.iscomplexobj(root):
        largest = np.max(np.abs(np.diagonal(root).imag))
        if largest > MAX_IMAGINARY_COMPONENT:
            raise ValueError(
                f"sqrtm(C_1 C_2) has an imaginary component of {largest:.3g}; the covariances are "
                "not valid (non-finite or corrupted features?)"
            )
        root = root.real
    difference = mean_1 - mean_2
    return float(difference @ difference + np.trace(covariance_1) + np.trace(covariance_2) - 2 * np.trace(root))


def _sqrtm(matrix: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():  # "matrix is singular": the finiteness check above handles it
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        return scipy.linalg.sqrtm(matrix)


def fid_from_moments(moments_1: RunningMoments, moments_2: RunningMoments) -> Score:
    return Score(
        frechet_distance(moments_1.mean, moments_1.covariance, moments_2.mean, moments_2.covariance),
        counts=(moments_1.count, moments_2.count),
    )


def fid(features_1, features_2) -> Score:
    """FID between two [N, D] feature arrays."""
    moments = []
    for features in (features_1, features_2):
        features = np.asarray(features)
        moments.append(RunningMoments(features.shape[1]))
        moments[-1].update(features)
    return fid_from_moments(*moments)


# -- KID -----------------------------------------------------------------------------------------


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """k(x, y) = (x.y / d + 1)^3 for every row pair: [n, d] x [m, d] -> [n, m]."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """The unbiased MMD^2 of two equal-size samples under `polynomial_kernel` (module docstring)."""
    m = len(x)
    k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within - 2.0 * k_xy.sum() / (m * m))


def kid(features_1, features_2, subsets: int = KID_SUBSETS, subset_size: int = KID_SUBSET_SIZE, seed: int = 0) -> Score:
    """KID: mean ± std of the unbiased MMD^2 over `subsets` random subsets of `subset_size` per side.

    Each subset is drawn without replacement. Raises ValueError when a sample
    has fewer than `subset_size` features.
    """
    features_1, features_2 = np.asarray(features_1, np.float64), np.asarray(features_2, np.float64)
    smaller = min(len(features_1), len(features_2))
    if subset_size > smaller:
        raise ValueError(
            f"KID subset size {subset_size} is larger than the sample (n = {len(features_1)} vs "
            f"{len(features_2)}); lower the subset size or score more images"
        )
    if subset_size < 2:
        raise ValueError(f"KID subset size must be >= 2, got {subset_size}")
    rng = np.random.default_rng(seed)
    values = [
        mmd2_unbiased(
            features_1[rng.choice(len(features_1), subset_size, replace=False)],
            features_2[rng.choice(len(features_2), subset_size, replace=False)],
        )
        for _ in range(subsets)
    ]
    return Score(float(np.mean(values)), float(np.std(values)), (len(features_1), len(features_2)))


# -- IS ------------------------------------------------------------------------------------------


def inception_score(probabilities, splits: int = IS_SPLITS) -> Score:
    """IS: mean ± std over `splits` contiguous splits of exp(E_x KL(p(y|x) || p(y))).

    `probabilities`: [N, classes], rows summing to 1. A contiguous split of a
    sorted sample sees only part of it: pass the images in a random order
    (generated images are).
    """
    probabilities = np.asarray(probabilities, np.float64)
    if len(probabilities) < splits:
        raise ValueError(
            f"the Inception Score needs at least {splits} images (one per split), got {len(probabilities)}"
        )
    scores = []
    for part in np.array_split(probabilities, splits):
        marginal = part.mean(axis=0, keepdims=True)
        # 0 log 0 = 0: xlogy gives it, and a class the split never predicts contributes nothing.
        kl = (scipy.special.xlogy(part, part) - scipy.special.xlogy(part, marginal)).sum(axis=1)
        scores.append(np.exp(kl.mean()))
    return Score(float(np.mean(scores)), float(np.std(scores)), (len(probabilities),))
