"""Evaluation: sample-quality metrics (FID, KID, IS) and the attribute-preservation benchmark.

    python -m evaluation.score --real synthetic:photo:1000 --fake folder:out/ --metrics fid,kid,is
    python -m evaluation.semantics --run_dir runs/xgan/<timestamp> --direction face2cartoon

Modules: `metrics` (FID, KID and IS from activations, NumPy/SciPy), `features`
(InceptionV3 activations, batched over a tf.data source), `score` (the metrics
CLI), `attributes` (the per-domain attribute classifiers of the synthetic
faces), `semantics` (the attribute-preservation benchmark CLI), `semantics_setup`
(what its reports share: domain names, folders, the target classifier),
`provenance` and `provenance_report` (which attributes of a style-guided
translation come from the source and which from the reference: StarGAN v2's).
"""

import training.quiet_logs  # noqa: F401  (first, before TensorFlow's import: quiet CLI logs)
