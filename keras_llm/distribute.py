"""Pick a ``tf.distribute`` strategy: TPU, several machines, several GPUs, or one device.

Every ``keras-llm train`` run builds its model, optimizer and metrics inside
``strategy.scope()`` (see :func:`keras_llm.training.runtime.training_runtime`), so the same
recipe runs unchanged on one CPU, eight GPUs or a TPU slice.

Batch sizes are global: a recipe's ``batch_size`` is the number of examples per optimizer
step summed over all replicas, so a run means the same thing on any hardware. Each replica
gets ``batch_size / num_replicas`` examples, which must be a whole number.

Example:
    >>> strategy = get_strategy("auto")        # logs e.g. "strategy: default (1 replica)"
    >>> with strategy.scope():
    ...     model = build_gpt(config)
"""

import json
import os

import tensorflow as tf

from keras_llm.errors import UserInputError

STRATEGY_KINDS = ("auto", "default", "mirrored", "multi_worker", "tpu")


def get_strategy(kind="auto", tpu=None, log=print, cpu_replicas=None):
    """The ``tf.distribute.Strategy`` for ``kind``; logs the choice and the replica count.

    Args:
        kind: "auto" (TPU if one resolves, else several workers if TF_CONFIG names them, else
            several GPUs, else the default strategy), "default", "mirrored" (all local GPUs, or
            all logical CPU devices when there is no GPU), "multi_worker" (TF_CONFIG) or "tpu".
        tpu: TPU name or grpc address for the cluster resolver (None: from the environment,
            as on a Cloud TPU VM).
        log: where the one-line report goes (``None`` for silence).
        cpu_replicas: split the CPU into this many logical devices and replicate over them
            ("mirrored", or "auto", which then picks "mirrored"); a way to run several replicas
            on a machine without GPUs. Must come before anything starts TensorFlow's runtime.

    Raises:
        UserInputError: unknown kind, "tpu" with no TPU, "multi_worker" with a missing or
            malformed TF_CONFIG, ``cpu_replicas`` with another strategy or after the runtime started.
    """
    if kind not in STRATEGY_KINDS:
        raise UserInputError(f"unknown strategy {kind!r}; choose one of {', '.join(STRATEGY_KINDS)}")
    if cpu_replicas is not None:
        if kind not in ("auto", "mirrored"):
            raise UserInputError(f"--cpu-replicas needs --strategy mirrored (or auto), not {kind}")
        split_cpu(cpu_replicas)
        kind = "mirrored"
    if kind == "auto":
        kind = _auto_kind(tpu)
    if kind == "tpu":
        strategy = _tpu_strategy(tpu)
    elif kind == "multi_worker":
        _check_tf_config()
        patch_keras_fit_for_multi_worker()
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    elif kind == "mirrored":
        strategy = tf.distribute.MirroredStrategy(devices=_local_devices(cpu_only=cpu_replicas is not None))
    else:
        strategy = tf.distribute.get_strategy()
    if log is not None:
        replicas = strategy.num_replicas_in_sync
        log(f"strategy: {kind} ({replicas} replica{'s' if replicas != 1 else ''})")
    return strategy


def per_replica_batch_size(global_batch_size, strategy):
    """``global_batch_size / replicas``; raises when it does not divide evenly."""
    replicas = strategy.num_replicas_in_sync
    if global_batch_size % replicas:
        raise UserInputError(f"batch size {global_batch_size} is not divisible by the {replicas} replicas "
                             f"of the strategy (the batch size is global: per-replica batch × replicas)")
    return global_batch_size // replicas


def _auto_kind(tpu):
    if tpu is not None or os.environ.get("TPU_NAME") or os.environ.get("TPU_ACCELERATOR_TYPE"):
        return "tpu"
    if len(_tf_config().get("cluster", {}).get("worker", [])) > 1:
        return "multi_worker"
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return "mirrored"
    return "default"


def split_cpu(count):
    """Make the first physical CPU appear as ``count`` logical devices (before the runtime starts).

    Example:
        >>> split_cpu(2)   # then tf.config.list_logical_devices("CPU") has CPU:0 and CPU:1
    """
    if count < 1:
        raise UserInputError(f"--cpu-replicas must be at least 1, got {count}")
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError:  # TensorFlow allows this only before its runtime starts
        if len(tf.config.list_logical_devices("CPU")) != count:
            raise UserInputError("--cpu-replicas must be set before TensorFlow starts (a fresh process)") from None


def _local_devices(cpu_only=False):
    gpus = [] if cpu_only else tf.config.list_logical_devices("GPU")
    return [device.name for device in (gpus or tf.config.list_logical_devices("CPU"))]


def worker_index(strategy):
    """``(index, count)`` of this process among the workers of ``strategy`` (``(0, 1)`` on one machine)."""
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return 0, 1
    resolver = strategy.cluster_resolver
    spec = resolver.cluster_spec()
    count = sum(spec.num_tasks(job) for job in spec.jobs if job in ("chief", "worker"))
    index = resolver.task_id + (1 if resolver.task_type == "worker" and "chief" in spec.jobs else 0)
    return index, max(count, 1)


def is_chief(strategy):
    """True on the worker that writes the run directory (worker 0, or the ``chief`` task); True on one machine."""
    return bool(strategy.extended.should_checkpoint)


def workers_agree(strategy, number):
    """Whether every worker of ``strategy`` passed the same ``number`` (a barrier too: all must call it).

    Example:
        >>> workers_agree(strategy, resumed_epochs)   # False when one worker would resume elsewhere
    """
    if worker_index(strategy)[1] == 1:
        return True
    value = tf.constant([1.0, number, float(number) ** 2], tf.float64)

    @tf.function
    def sums():
        return strategy.reduce("SUM", strategy.run(lambda: value), axis=None)

    count, total, squares = sums().numpy()
    return bool(count * squares == total * total)  # equal values <=> n * sum(x^2) == (sum x)^2


def worker_barrier(strategy):
    """Return once every worker of ``strategy`` has called this (a one-number all-reduce); at once
    on one machine. Every worker must call it the same number of times, in the same order."""
    if worker_index(strategy)[1] == 1:
        return

    @tf.function  # an eager collective works too, but TensorFlow warns about its overhead on stderr
    def all_reduce_one():
        return strategy.reduce("SUM", strategy.run(lambda: tf.ones([])), axis=None)

    all_reduce_one()


def _tf_config():
    text = os.environ.get("TF_CONFIG", "")
    if not text.strip():
        return {}
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise UserInputError(f"TF_CONFIG is not valid JSON: {error}") from None
    if not isinstance(config, dict):
        raise UserInputError("TF_CONFIG must be a JSON object with 'cluster' and 'task'")
    return config


def _check_tf_config():
    """Fail with one line before TensorFlow would hang waiting for workers that cannot exist."""
    config = _tf_config()
    if not config:
        raise UserInputError("strategy multi_worker needs TF_CONFIG (see docs/distributed.md)")
    cluster, task = config.get("cluster"), config.get("task")
    if not isinstance(cluster, dict) or not isinstance(cluster.get("worker"), list) or not cluster["worker"]:
        raise UserInputError("TF_CONFIG needs cluster.worker: a list of host:port strings")
    if not all(isinstance(address, str) and address.rpartition(":")[2].isdigit() for address in cluster["worker"]):
        raise UserInputError(f"TF_CONFIG cluster.worker entries must be host:port; got {cluster['worker']}")
    if not isinstance(task, dict) or task.get("type") not in cluster or not isinstance(task.get("index"), int):
        raise UserInputError("TF_CONFIG needs task: {\"type\": \"worker\", \"index\": N} naming a cluster entry")
    if not 0 <= task["index"] < len(cluster[task["type"]]):
        raise UserInputError(f"TF_CONFIG task index {task['index']} is outside cluster.{task['type']}")


def _tpu_strategy(tpu):
    # The sequence TensorFlow documents for TPUs: resolve, connect, initialize, then the strategy.
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, tf.errors.OpError, RuntimeError, OSError) as error:  # OSError: no metadata server reached
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UserInputError(f"strategy tpu: no TPU found ({message})") from None
    return tf.distribute.TPUStrategy(resolver)


_PATCHED = False


def patch_keras_fit_for_multi_worker():
    """Make Keras 3.15's ``model.fit`` work under ``MultiWorkerMirroredStrategy``.

    Upstream (keras-team/keras#20585) fit fails twice under this strategy: (1) before the
    first step, ``_maybe_symbolic_build`` all-reduces a whole data batch eagerly just to learn
    its shapes, and the collective fails on a ``PerReplica`` value; (2) each step reduces the
    step's scalar metric results with ``axis=0``, which has no axis to reduce. We replace
    (1) with this worker's first local batch (only its shapes are used) and (2) with a
    cross-worker mean over no axis. Other strategies take the original code paths.
    Idempotent; see docs/distributed.md.
    """
    global _PATCHED
    if _PATCHED:
        return
    from keras.src.backend.tensorflow import trainer

    original_reduce = trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction):
        if trainer._collective_all_reduce_multi_worker(strategy) and reduction in ("auto", "mean"):
            return tf.nest.map_structure(lambda value: strategy.reduce("MEAN", value, axis=None), values)
        return original_reduce(values, strategy, reduction)

    original_build = trainer.TensorFlowTrainer._maybe_symbolic_build

    def maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self._distribute_strategy
        if strategy is None or iterator is None or not trainer._collective_all_reduce_multi_worker(strategy):
            return original_build(self, iterator=iterator, data_batch=data_batch)
        for _, _, batches in iterator:
            first = next(batches)
            data_batch = tf.nest.map_structure(
                lambda value: strategy.experimental_local_results(value)[0]
                if isinstance(value, tf.distribute.DistributedValues) else value, first)
            break
        with strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    trainer.reduce_per_replica = reduce_per_replica
    trainer.TensorFlowTrainer._maybe_symbolic_build = maybe_symbolic_build
    _PATCHED = True
