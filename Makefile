# Every target works from a fresh clone with nothing but Python 3 installed:
# `install` creates .venv/ and the other targets depend on it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_FLAGS ?=
# Worker processes of `make test` (pytest-xdist); 0 runs the tests in this process.
PYTEST_WORKERS ?= 2
DATA_DIR ?= data/synthetic
DATA_COUNT ?= 2000
DATA_SIZE ?= 128
# Extras installed beside [dev]: `gpu` (CUDA libraries from pip) where nvidia-smi is found; `PIP_EXTRAS=` skips it.
PIP_EXTRAS ?= $(if $(shell command -v nvidia-smi 2>/dev/null),gpu,)
comma := ,

.PHONY: install models lint format test test-slow data train-gan train-xgan train-cyclegan train-ugatit train-stargan tensorboard clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev$(if $(PIP_EXTRAS),$(comma)$(PIP_EXTRAS))]'
	$(BIN)/python -m preprocessing.models fetch
	touch $(STAMP)

# The MediaPipe face models (~2 MB, from the mediapipe wheel on PyPI) into ~/.cache/xgan-toolkit/models or
# $XGAN_TOOLKIT_MODELS; `install` fetches them, this target fetches them again if the cache was deleted.
models: install
	$(BIN)/python -m preprocessing.models fetch

# ruff checks the formatting and the lint rules of pyproject.toml; `make format` applies both. tools.lint_words
# fails on words that tell the project's history in the docs, the README and the code outside tests/.
lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/python -m tools.lint_words .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: install
	$(BIN)/python -m pytest -m "not slow" -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_FLAGS)

test-slow: install
	$(BIN)/python -m pytest -m slow $(PYTEST_FLAGS)

data: install
	$(BIN)/python -m preprocessing.synthetic --domain cartoon --count $(DATA_COUNT) --size $(DATA_SIZE) --out $(DATA_DIR)/cartoon
	$(BIN)/python -m preprocessing.synthetic --domain photo --count $(DATA_COUNT) --size $(DATA_SIZE) --out $(DATA_DIR)/photo

# The report's DCGAN on the built-in cartoons, about 10 minutes on a 2-core CPU. A step at the report's
# widths and batch of 128 (the CLI's defaults) takes ~7 s on such a CPU, so this halves the widths and
# takes 2500 steps of 24 (~0.2 s each: for this GAN more updates beat a bigger batch); pass more with
# GAN_FLAGS (later flags win), e.g.
# make train-gan GAN_FLAGS="--recipe=exp1" or GAN_FLAGS="--generator_filters=256,128,64,32 --batch_size=128".
GAN_FLAGS ?=
train-gan: install
	$(BIN)/python -m single_gan.train --generator_filters=128,64,32,16 --discriminator_filters=32,64,128 \
		--batch_size=24 --epochs=25 --steps_per_epoch=100 $(GAN_FLAGS)

# The built-in synthetic faces, about 7 minutes on a 2-core CPU (6 min 15 s on a Xeon with AMX once the data is
# rendered); pass more with XGAN_FLAGS,
# e.g. make train-xgan XGAN_FLAGS="--epochs=300 --mixed_precision=mixed_float16".
XGAN_FLAGS ?=
train-xgan: install
	$(BIN)/python -m xgan.train $(XGAN_FLAGS)

# CycleGAN on the built-in photos <-> cartoons, about 6 minutes on a 2-core CPU (5 min 36 s on a Xeon with AMX):
# 64 px, ResNet-6 generators at half the reference's widths (ngf = ndf = 32), photos on white as the cartoons
# are, 600 steps of 4 images (~0.5 s a step), the last half with the learning rate decaying to 0, and resize-convolutions instead of the
# reference's transposed convolutions, whose checkerboard covers every translation at this length
# (docs/quality.md; CYCLEGAN_FLAGS=--upsampling=transposed restores them). The reference setting on real data:
# CYCLEGAN_FLAGS="--dataset_dir=horse2zebra --image_size=256 --residual_blocks=9 --generator_filters=64
# --discriminator_filters=64 --batch_size=1 --a_background=keep --upsampling=transposed --epochs=200
# --steps_per_epoch=1334" (on a GPU).
CYCLEGAN_FLAGS ?=
train-cyclegan: install
	$(BIN)/python -m cyclegan.train --image_size=64 --residual_blocks=6 --generator_filters=32 \
		--discriminator_filters=32 --batch_size=4 --a_background=white --upsampling=resize_conv --epochs=6 \
		--steps_per_epoch=100 --log_every_n_steps=20 $(CYCLEGAN_FLAGS)

# U-GAT-IT, light, on the built-in photos <-> cartoons, about 10 minutes on a 2-core CPU: 96 px (the global
# discriminator's smallest input), a quarter of the reference's widths (--filters=16, its --ch), photos on white as
# the cartoons are, 1100 steps of 1 image, the last half with the learning rate decaying to 0, and at this length
# CAM weight 10 and adversarial weight 0.1 (the reference's 1000 and 1 give one brown skin under a grid of stripes
# here; docs/experiments.md). The keypoint-loss run of the report at the same size: UGATIT_FLAGS="--keypoint_loss=m2
# --keypoint_block_steps=275 --keypoint_pretrain_epochs=1,3,6,3". The reference's setting on real data, on a GPU:
# UGATIT_FLAGS="--image_size=256 --filters=64 --face_source=folder:... --cartoon_source=folder:...
# --face_background=keep --learning_rate=1e-4 --cam_weight=1000 --adversarial_weight=1 --epochs=100
# --steps_per_epoch=10000" (add --light below 16 GB).
UGATIT_FLAGS ?=
train-ugatit: install
	$(BIN)/python -m ugatit.train --light --image_size=96 --filters=16 --face_background=white --learning_rate=2e-4 \
		--cam_weight=10 --adversarial_weight=0.1 --epochs=11 --steps_per_epoch=100 --log_every_n_steps=20 \
		$(UGATIT_FLAGS)

# StarGAN v2 on the built-in photos (on white) and cartoons, about 11 minutes on a 2-core CPU: 64 px, the first
# convolution 16 channels wide and none wider than 64 (the official width rule would start a 64 px network at 256),
# batches of 8 (the official size), 7 x 150 steps with λ_ds decaying to 0 over them as the official run's does over
# its 100K, and a moving average of β 0.99 instead of 0.999 (a 1000-step window would still hold a third of the random
# initial weights after 1050 steps); the official recipe otherwise. The official AFHQ setting, on a GPU:
# STARGAN_FLAGS="--dataset_dir=data/afhq/train --image_size=256 --first_conv_dim=0 --max_conv_dim=512
# --diversity_weight=2 --diversity_decay_steps=100000 --ema_decay=0.999 --epochs=100 --steps_per_epoch=1000".
STARGAN_FLAGS ?=
train-stargan: install
	$(BIN)/python -m stargan_v2.train --image_size=64 --first_conv_dim=16 --max_conv_dim=64 --batch_size=8 \
		--epochs=7 --steps_per_epoch=150 --diversity_decay_steps=1050 --ema_decay=0.99 --log_every_n_steps=25 \
		$(STARGAN_FLAGS)

tensorboard: install
	$(BIN)/tensorboard --logdir runs

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
