"""Epochs of a model's own `train_step` under any tf.distribute strategy: what `training.fit` runs on several machines.

Keras 3's `fit` does not run under `tf.distribute.MultiWorkerMirroredStrategy`
(keras-team/keras#20585). `fit` here takes the arguments `training.fit.fit`
gives `model.fit` and does what Keras's loop does with them, with TensorFlow's
own engine:

    every step   strategy.run(model.train_step, next(distributed batches)) in one tf.function,
                 the replicas' metrics averaged (strategy.reduce MEAN)
    callbacks    set_model, on_train_begin, per epoch (metrics reset first) on_epoch_begin,
                 on_train_batch_begin/end(batch, logs) per step, on_epoch_end(epoch, logs),
                 on_train_end; `model.stop_training` ends the epoch and the run

The models' `train_step`s are already written for a strategy: each divides its
losses by the number of replicas (`training.gradients.scale_loss`) and
`optimizer.apply` sums the replicas' gradients, so an update is that of the
global batch's mean loss. Their losses are `keras.ops` means, as in
`training.gan_losses`: a `keras.losses.Loss` object divides by the replicas
itself under a strategy, which would count the division twice. Their
`keras.metrics.Mean` trackers hold one value per replica (synchronised on
read); the mean over replicas of their per-step results is the global mean,
since every replica takes an equal share of the batch. The epoch's logs are
its last step's running means, read without a cross-worker reduction, so
callbacks that run on the chief alone (TensorBoard, grids, exports) never
start a collective the other workers do not join.

The dataset yields global batches. Sharding by data (`AutoShardPolicy.DATA`)
makes each worker run the same pipeline and keep its replicas' share of every
global batch, whatever the pipeline reads from (files, TFDS, generated images),
so the workers together train on exactly the batches one process would.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def fit(
    model: keras.Model,
    dataset: tf.data.Dataset,
    strategy: tf.distribute.Strategy,
    *,
    epochs: int,
    steps_per_epoch: int,
    callbacks=(),
    initial_epoch: int = 0,
    verbose="auto",
) -> dict:
    """Trains `model` on `dataset` (endless global batches) from `initial_epoch` to `epochs` under `strategy`.

    Drives `callbacks` as `model.fit(dataset, epochs=..., steps_per_epoch=...,
    initial_epoch=..., callbacks=..., verbose=...)` does; returns the logs of
    the last epoch trained ({metric name: float}).
    """
    callback_list = keras.callbacks.CallbackList(
        list(callbacks), add_progbar=verbose != 0, verbose=verbose, epochs=epochs, steps=steps_per_epoch, model=model
    )
    train_function = make_train_function(model, strategy)
    batches = iter(strategy.experimental_distribute_dataset(shard_by_data(dataset)))
    model.stop_training = False
    callback_list.on_train_begin()
    logs = {}
    for epoch in range(initial_epoch, epochs):
        model.reset_metrics()
        callback_list.on_epoch_begin(epoch)
        for batch in range(steps_per_epoch):
            callback_list.on_train_batch_begin(batch)
            logs = {name: float(value) for name, value in train_function(batches).items()}
            callback_list.on_train_batch_end(batch, logs)
            if model.stop_training:
                break
        callback_list.on_epoch_end(epoch, dict(logs))
        if model.stop_training:
            break
    callback_list.on_train_end(dict(logs))
    return logs


def make_train_function(model: keras.Model, strategy: tf.distribute.Strategy):
    """`train_function(batches)`: one step of `model.train_step` on every replica; the replicas' mean metrics.

    Compiled as Keras compiles its own: the replica step with XLA when the
    model was compiled with `jit_compile`, the whole step as a tf.function
    unless `run_eagerly`.
    """
    replica_step = model.train_step
    if model.jit_compile:
        replica_step = tf.function(replica_step, jit_compile=True, reduce_retracing=True)

    def train_function(batches):
        per_replica = strategy.run(replica_step, args=(next(batches),))
        return {name: strategy.reduce("MEAN", value, axis=None) for name, value in per_replica.items()}

    return train_function if model.run_eagerly else tf.function(train_function)


def wait_for_workers(strategy: tf.distribute.Strategy) -> None:
    """Returns once every worker has called it (a collective sum of one value per replica).

    At the end of a run it keeps the other workers alive until the chief has
    written its files: the chief's coordination service reports a worker
    that exits before it as crashed.
    """
    strategy.reduce("SUM", strategy.run(lambda: tf.constant(1.0)), axis=None)


def shard_by_data(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """`dataset` set to be split across workers by data: each keeps its share of every global batch."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)
