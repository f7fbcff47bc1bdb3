"""The training harness every model package shares.

A model's `train.py` is thin:

    from training import fit, flags, run

    flags.define_common_flags(batch_size=16, learning_rate=2e-4, beta_1=0.5)   # + its own flags
    config = flags.config_from_flags("xgan", ["adversarial_weight", ...])
    current = run.setup_run("xgan", config)            # seeds, dtype policy, strategy, run dir, its config
    model = fit.build_and_compile(current, config, lambda: XGAN(...))
    fit.fit(model, dataset, current, config, fit.take_fixed_inputs(dataset, config["num_grid_samples"]))

(`fit.train_from_config(MODEL, config, build_dataset)` does the last three, with the dataset, for a registered model.)

Modules: `flags` (common CLI flags -> config dict, recipes), `hyperparameters` (a model's hyperparameters,
declared once: flags, config entries, constructor arguments), `run` (run setup and the run directory's layout),
`host_memory` (malloc's mmap threshold, so a step's freed buffers leave the resident set),
`schedules` (learning rates), `optimizers` (Adam and SGD, weight decay
coupled or decoupled, loss scaling), `gradients` (loss scaling and updates
inside `train_step`), `keras_internals` (every private Keras member the
project uses), `gan_model` (`GANModel`, a base class doing the
contract's compile / metrics / compile-config plumbing), `ema` (the moving
average of the generators' weights that --ema_decay keeps), `gan_losses` (the
adversarial losses GANs share), `backup` (the state a run resumes from),
`callbacks` (NaN guard, TensorBoard, image grids and their GIF, loss plot),
`images` (drawing grids, GIFs, loss plots), `export` (generators as .keras),
`fit` (the glue, and the one-line failures of a train CLI), `distributed_loop`
(the training loop of multi-worker runs, where Keras's `fit` does not run),
`translate` and `translate_cli` (the translate CLI every model shares), `registry` (the
model packages the shared tools know, each registered once by an entry point).
For a model's own `train_step`: `image_pool` (`ImagePool`, CycleGAN's history
of generated images) and `constraints` (`ClipConstraint`, elementwise clipping
after every update).

The contract a model package's `keras.Model` follows:

- `compile(g_optimizer, d_optimizer, **kwargs)` calls `super().compile(**kwargs)`
  (the harness passes `optimizer=None` and `jit_compile`), stores one
  optimizer per player as attributes, and builds each on the variables it
  trains (`optimizer.build(variables)`), so a backup can restore their state.
  `GANModel` does so, also for the further optimizers a model declares in
  `extra_optimizers` (each with the run-config key of its learning rate).
- Losses are tracked by `keras.metrics.Mean` trackers returned by the
  `metrics` property; `train_step` returns `{name: tracker.result()}`. Every
  value it returns is a scalar worth watching (the losses, and e.g. the
  discriminator's mean output): the NaN guard checks them all, TensorBoard and
  losses.png show them all.
- `model(x)`, with `x` the first element of a training batch (the batch itself
  when it is not a tuple), builds the model; otherwise build it before `fit`.
- `exportable_models() -> dict[str, keras.Model]`: the generators to export as
  `<run_dir>/export/<name>.keras`.
- `sample_grid(*fixed_inputs) -> list[tuple[str, images]]`: named rows of
  images `[N, H, W, 3]` in [-1, 1] for the image grids, e.g.
  `[("face", x), ("face2cartoon", y)]`. `fixed_inputs` are what `fit` is given:
  the first examples of the dataset (`fit.take_fixed_inputs`) for a
  translation model, a fixed noise batch for a model that draws from noise.
"""
