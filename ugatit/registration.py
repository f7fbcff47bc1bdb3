"""U-GAT-IT's entry in the model registry (`training.registry`), named in setup.cfg's entry points."""

from __future__ import annotations

from preprocessing import data_flags
from training.registry import Benchmark, ModelSpec
from ugatit import keypoints
from ugatit.hyperparameters import UGATITHyperparameters
from ugatit.model import DIRECTIONS, UGATIT

REFERENCE_BATCH = ((1, 256, 256, 3), (1, 256, 256, 3))
# The keypoint predictor's batches (the report does not say; the GAN's batch of 1 would make an epoch 2048 steps).
KEYPOINT_BATCH_SIZE = 16


def build_model(config: dict) -> UGATIT:
    """The U-GAT-IT a run's config describes, with its keypoint loss."""
    return UGATIT(**UGATITHyperparameters.arguments(config), keypoint_method=config["keypoint_loss"])


def keypoint_training_data(config: dict):
    """One pass over the face domain with its landmarks, as {"image", "landmarks"} batches: a predictor epoch."""
    faces = data_flags.load_domain_from_config(
        {**config, "batch_size": KEYPOINT_BATCH_SIZE},
        "face",
        config["image_size"],
        with_metadata=True,
        repeat=False,
        drop_remainder=False,  # a face source smaller than a batch still gives the predictor one
        seed_offset=2,
    )
    return faces.map(lambda batch: {"image": batch["image"], "landmarks": batch["landmarks"]})


def training_callbacks(config: dict) -> list:
    """With a keypoint loss: the report's staged pre-training of the predictor."""
    if config["keypoint_loss"] == "off":
        return []
    schedule = keypoints.PretrainingSchedule(
        block_steps=config["keypoint_block_steps"], epochs=tuple(config["keypoint_pretrain_epochs"])
    )
    return [keypoints.KeypointPretraining(schedule, keypoint_training_data(config))]


MODEL = ModelSpec(
    name="ugatit",
    build=build_model,
    untrained=UGATIT,
    generators=DIRECTIONS,
    directions=DIRECTIONS,
    direction_descriptions=("genA2B, faces to cartoons", "genB2A, cartoons to faces"),
    # The reference's step: one image of each domain at 256 px, Adam 1e-4 (0.5, 0.999), coupled weight decay 1e-4.
    benchmark=Benchmark(
        input_shapes=REFERENCE_BATCH,
        learning_rate=1e-4,
        weight_decay=1e-4,
        label="light",
        model_options=(("light", True),),
    ),
    more_benchmarks=(Benchmark(input_shapes=REFERENCE_BATCH, learning_rate=1e-4, weight_decay=1e-4, label="full"),),
    train_module="ugatit.train",
    training_callbacks=training_callbacks,
)
