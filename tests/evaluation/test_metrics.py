"""FID, KID and IS against NumPy / SciPy references and their known values."""

import numpy as np
import pytest
import scipy.linalg

from evaluation import metrics


def reference_fid(features_1, features_2) -> float:
    """FID written out with NumPy and SciPy, as the formula reads."""
    mu_1, mu_2 = features_1.mean(axis=0), features_2.mean(axis=0)
    c_1, c_2 = np.cov(features_1, rowvar=False), np.cov(features_2, rowvar=False)
    root = scipy.linalg.sqrtm(c_1 @ c_2).real
    return float(np.sum((mu_1 - mu_2) ** 2) + np.trace(c_1) + np.trace(c_2) - 2 * np.trace(root))


def gaussian(count, dimensions, seed, shift=0.0, scale=1.0):
    """`count` draws of one correlated Gaussian (the same for every seed), scaled and shifted."""
    mixing = np.eye(dimensions) + 0.3 * np.random.default_rng(1234).normal(size=(dimensions, dimensions))
    return (np.random.default_rng(seed).normal(size=(count, dimensions)) @ mixing) * scale + shift


def test_fid_matches_the_scipy_reference():
    real, fake = gaussian(400, 16, seed=0), gaussian(300, 16, seed=1, shift=0.5, scale=1.3)
    expected = reference_fid(real, fake)
    assert expected > 1.0
    found = metrics.fid(real, fake)
    assert found.mean == pytest.approx(expected, abs=1e-4)
    assert found.counts == (400, 300)


def test_fid_is_zero_for_identical_sets_and_grows_with_a_mean_shift():
    features = gaussian(500, 12, seed=2)
    assert metrics.fid(features, features).mean == pytest.approx(0.0, abs=1e-6)
    distances = [metrics.fid(features, features + shift).mean for shift in (0.0, 0.5, 1.0, 2.0)]
    assert np.all(np.diff(distances) > 0)
    # A shift of every coordinate by s moves the means by s^2 * dimensions and nothing else.
    assert distances[2] == pytest.approx(1.0 * 12, rel=1e-6)


def test_running_moments_equal_numpy_mean_and_covariance_over_uneven_batches():
    features = gaussian(257, 9, seed=3, shift=100.0)  # a large mean: the naive sum-of-squares loses digits
    moments = metrics.RunningMoments(9)
    for batch in np.array_split(features, [1, 33, 34, 200]):
        moments.update(batch)
    assert moments.count == 257
    np.testing.assert_allclose(moments.mean, features.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(moments.covariance, np.cov(features, rowvar=False), rtol=1e-9, atol=1e-12)


def test_fid_of_rank_deficient_covariances_is_finite():
    # Fewer samples than dimensions: singular covariances, the case of the epsilon retry.
    real, fake = gaussian(6, 20, seed=4), gaussian(6, 20, seed=5, shift=1.0)
    assert np.isfinite(metrics.fid(real, fake).mean)


def test_frechet_distance_refuses_a_large_imaginary_component():
    covariance = np.diag([1.0, 1.0])
    broken = np.diag([-4.0, 1.0])  # not a covariance: sqrtm(C_1 C_2) is 2i on the diagonal
    with pytest.raises(ValueError, match="imaginary component"):
        metrics.frechet_distance(np.zeros(2), covariance, np.zeros(2), broken)


def reference_mmd2(x, y) -> float:
    """The unbiased MMD^2 with explicit loops over pairs."""
    d = x.shape[1]
    k = lambda a, b: (a @ b / d + 1) ** 3  # noqa: E731
    m = len(x)
    within_x = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    within_y = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    across = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return within_x + within_y - 2 * across


def test_mmd2_matches_the_pairwise_definition():
    x, y = gaussian(15, 4, seed=6), gaussian(15, 4, seed=7, shift=0.3)
    assert metrics.mmd2_unbiased(x, y) == pytest.approx(reference_mmd2(x, y), rel=1e-10)


def test_kid_is_about_zero_for_one_distribution_and_positive_for_two():
    same = metrics.kid(gaussian(600, 8, seed=8), gaussian(600, 8, seed=9), subsets=20, subset_size=200)
    different = metrics.kid(gaussian(600, 8, seed=8), gaussian(600, 8, seed=10, shift=0.5), subsets=20, subset_size=200)
    assert abs(same.mean) < 3 * same.std / np.sqrt(20) + 1e-3
    assert different.mean > 10 * max(abs(same.mean), same.std)
    assert different.std > 0 and same.counts == (600, 600)


def test_kid_refuses_a_subset_larger_than_the_sample():
    with pytest.raises(ValueError, match="KID subset size 100 is larger than the sample"):
        metrics.kid(gaussian(99, 4, seed=0), gaussian(500, 4, seed=1), subset_size=100)


def test_inception_score_is_one_for_constant_predictions():
    probabilities = np.tile([0.1, 0.6, 0.3], (200, 1))
    score = metrics.inception_score(probabilities)
    assert score.mean == pytest.approx(1.0, abs=1e-9) and score.std == pytest.approx(0.0, abs=1e-9)
    assert score.counts == (200,)


@pytest.mark.parametrize("classes", [2, 5, 10])
def test_inception_score_is_the_class_count_for_uniform_one_hot_predictions(classes):
    # 10 splits of 50 images per class each, shuffled within the split: one-hot and balanced.
    labels = np.concatenate(
        [np.random.default_rng(s).permutation(np.arange(50 * classes) % classes) for s in range(10)]
    )
    score = metrics.inception_score(np.eye(classes)[labels])
    assert score.mean == pytest.approx(classes, rel=1e-9)


def test_inception_score_matches_a_numpy_reference():
    rng = np.random.default_rng(11)
    logits = rng.normal(size=(100, 7)) * 2
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = []
    for part in np.array_split(probabilities, 10):
        marginal = part.mean(axis=0)
        expected.append(np.exp(np.mean(np.sum(part * (np.log(part) - np.log(marginal)), axis=1))))
    score = metrics.inception_score(probabilities)
    assert score.mean == pytest.approx(np.mean(expected), rel=1e-10)
    assert score.std == pytest.approx(np.std(expected), rel=1e-8)


def test_score_prints_mean_std_and_counts():
    assert str(metrics.Score(12.5, counts=(100, 90))) == "12.5000 (n = 100 vs 90)"
    assert str(metrics.Score(2.38, 0.44, (50,))) == "2.3800 ± 0.4400 (n = 50)"
