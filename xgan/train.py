"""Train XGAN face <-> cartoon (Royer et al. 2018; the report's §6.2).

usage: python -m xgan.train [flags]

Defaults are the report's setting (64x64, batch 16, Adam lr 2e-4, betas 0.5 /
0.999, a discriminator on the cartoon domain) on the built-in synthetic faces,
their background painted white as the report removed it from its photos.
The report's full setting on real data, e.g. on a GPU:

  python -m xgan.train --face_source=folder:data/celeba_cropped --face_background=keep \\
      --cartoon_source=cartoonset:data/cartoonset10k --cartoon_crop=center \\
      --epochs=300 --steps_per_epoch=1000 --mixed_precision=mixed_float16

Everything the run writes goes to --run_dir; rerun with the same --run_dir to
resume. --help shows this module's own flags; --helpfull adds the data flags
(--face_source, --cartoon_source, --*_crop, --*_background, --*_augment) and the shared
training flags.
"""

from __future__ import annotations

import keras
from absl import app, flags

from preprocessing import data_flags
from preprocessing.pipeline import unpaired
from training import fit, run
from training import flags as training_flags
from xgan import losses
from xgan.model import DISCRIMINATE_OPTIONS, XGAN
from xgan.networks import IMAGE_SHAPE

DOMAINS = {
    # The report's faces were "centred, cropped, background removed"; synthetic photos carry masks for it.
    "face": ("synthetic:photo", "the face (photo) domain", "white"),
    "cartoon": ("synthetic:cartoon", "the cartoon domain"),
}
DATA_FLAGS = data_flags.define_domain_flags(DOMAINS)

# The paper weighs every term 1. On the built-in faces (300-step probes, evaluation.semantics face2cartoon,
# chance 0.21) the auto-encoders alone reached 0.34; ω_d = ω_s = 0.1 with ω_gan = 1 or 0.1 turned
# face2cartoon into adversarial colour noise (0.20); ω_gan = 0.03 kept cartoons and scored 0.34.
LOSS_WEIGHTS = {
    "reconstruction_weight": (1.0, "ω_rec: weight of the auto-encoders' reconstruction loss L_rec (both domains)."),
    "domain_adversarial_weight": (
        0.1,
        "ω_d: weight of the encoders' domain term, L_conf or the reversed L_dann (the paper: 1).",
    ),
    "semantic_weight": (0.1, "ω_s: weight of the semantic consistency loss L_sem, both directions (the paper: 1)."),
    "gan_weight": (
        0.03,
        "ω_gan: weight of the generators' adversarial loss on translated images (the paper: 1; "
        "larger weights turned the 10-minute run's translations into colour noise).",
    ),
    "teacher_weight": (1.0, "ω_t: weight of the teacher loss L_teach (only with --teacher_model)."),
}
for _name, (_default, _help) in LOSS_WEIGHTS.items():
    flags.DEFINE_float(_name, _default, _help, lower_bound=0.0)
flags.DEFINE_enum(
    "semantic_distance",
    "l1",
    losses.SEMANTIC_DISTANCES,
    "Distance of L_sem and L_teach between embeddings: l1 (paper), l2 or cosine.",
)
flags.DEFINE_enum(
    "gan_loss",
    "bce",
    losses.GAN_LOSSES,
    "Adversarial loss: bce (binary cross-entropy on logits, the report's) or lsgan (least squares).",
)
flags.DEFINE_enum(
    "discriminate",
    "cartoon",
    list(DISCRIMINATE_OPTIONS),
    "Domains with a discriminator on translated images: cartoon (the report) or both (the paper).",
)
flags.DEFINE_enum(
    "domain_objective",
    "confusion",
    losses.DOMAIN_OBJECTIVES,
    "How the encoders play against the DANN classifier c_dann: confusion (they minimise the "
    "cross-entropy to 1/2, Tzeng et al. 2015; c_dann trains with the discriminators) or reversal "
    "(the paper: c_dann trains behind a gradient-reversal layer, the encoders maximise L_dann; "
    "it collapsed the embeddings on the synthetic faces).",
)
flags.DEFINE_float(
    "gradient_reversal_scale",
    1.0,
    "λ: weight of the encoders' share of the c_dann gradient (reversed under --domain_objective=reversal).",
    lower_bound=0.0,
)
flags.DEFINE_enum(
    "gradient_reversal_ramp",
    "ganin",
    ["ganin", "constant"],
    "How λ of the gradient reversal evolves: ganin (from 0 to --gradient_reversal_scale over the "
    "run, as Ganin & Lempitsky 2015: λ_p = λ (2 / (1 + exp(-10 p)) - 1), p the fraction of training "
    "done) or constant (--gradient_reversal_scale from the first step).",
)
flags.DEFINE_integer(
    "warmup_steps",
    100,
    "Auto-encoder warm-up: only L_rec trains for this many steps, then the other terms grow "
    "linearly to their full weight over as many again (0: every term from the first step, as "
    "the paper).",
    lower_bound=0,
)
flags.DEFINE_bool(
    "mirror_private_init",
    True,
    "Start the cartoon's private encoder and decoder halves as copies of the face's (still separate "
    "variables), so both auto-encoders begin as one; --nomirror_private_init draws them independently.",
)
flags.DEFINE_string(
    "teacher_model",
    "",
    "Optional .keras teacher: maps face batches [B, 64, 64, 3] in [-1, 1] to [B, 1024] "
    "embeddings that L_teach pulls the face embeddings towards.",
)
MODEL_FLAGS = [
    *LOSS_WEIGHTS,
    "semantic_distance",
    "gan_loss",
    "discriminate",
    "domain_objective",
    "gradient_reversal_scale",
    "warmup_steps",
    "mirror_private_init",
]

training_flags.define_common_flags(
    batch_size=16,
    learning_rate=2e-4,
    beta_1=0.5,
    beta_2=0.999,
    # 7.5 minutes on a 2-core CPU (measured); the report trained for hundreds of epochs.
    epochs=4,
    steps_per_epoch=150,
    jit_compile=True,
    log_every_n_steps=50,
)


def build_dataset(config: dict):
    """Unpaired `(faces, cartoons)` batches at the architecture's 64x64."""
    image_size = IMAGE_SHAPE[0]
    faces = data_flags.load_domain_from_config(config, "face", image_size)
    cartoons = data_flags.load_domain_from_config(config, "cartoon", image_size, seed_offset=1)
    return unpaired(faces, cartoons)


def build_model(config: dict) -> XGAN:
    teacher = keras.saving.load_model(config["teacher_model"], compile=False) if config["teacher_model"] else None
    ramp_steps = config["epochs"] * config["steps_per_epoch"] if config["gradient_reversal_ramp"] == "ganin" else 0
    return XGAN(
        **{name: config[name] for name in MODEL_FLAGS}, gradient_reversal_ramp_steps=ramp_steps, teacher=teacher
    )


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    config = training_flags.config_from_flags(
        "xgan", [*MODEL_FLAGS, "gradient_reversal_ramp", "teacher_model", *DATA_FLAGS]
    )
    current = run.setup_run("xgan", config)
    dataset = build_dataset(config)
    model = fit.build_and_compile(current, config, lambda: build_model(config))
    fit.fit(model, dataset, current, config, fit.take_fixed_inputs(dataset, config["num_grid_samples"]))


if __name__ == "__main__":
    app.run(main)
