"""Train a tiny GPT with the production trainer in a fresh process and save its weights.

Used by tests that need a process of their own: strategies (logical CPU devices and TF_CONFIG
must be set before TensorFlow starts) and crash/resume (the process is SIGKILLed mid-run).

    python tests/workers/tiny_gpt.py --strategy mirrored --logical-cpus 2 --run-dir R --out w.npz
    python tests/workers/tiny_gpt.py --steps 12 --eval-interval 4 --kill-at-step 6 --run-dir R --out w.npz
    python tests/workers/tiny_gpt.py --steps 12 --eval-interval 4 --stop-at-step 6 --run-dir R --out w.npz
"""

import argparse
import os
import signal
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--strategy", default="default")
parser.add_argument("--logical-cpus", type=int, default=0)
parser.add_argument("--steps", type=int, default=2)
parser.add_argument("--eval-interval", type=int)
parser.add_argument("--batch-size", type=int, default=8)
parser.add_argument("--jit", action="store_true")
parser.add_argument("--kill-at-step", type=int, help="SIGKILL this process after this many optimizer steps")
parser.add_argument("--stop-at-step", type=int, help="stop training after this many steps, as a spent time limit does")
parser.add_argument("--run-dir", required=True)
parser.add_argument("--out", required=True)
args = parser.parse_args()

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_llm  # noqa: E402, F401

if args.logical_cpus:
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * args.logical_cpus)
if not args.jit:  # Keras refuses XLA under op determinism
    tf.config.experimental.enable_op_determinism()

import keras  # noqa: E402

from keras_llm.models import GPTConfig, build_gpt  # noqa: E402
from keras_llm.training import TrainingConfig, train_language_model  # noqa: E402
from keras_llm.training.runtime import training_runtime  # noqa: E402


class KillAtStep(keras.callbacks.Callback):
    """A crash at a chosen point: no callback, no flush, no clean-up gets to run."""

    def __init__(self, step):
        super().__init__()
        self.step = step

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.optimizer.iterations.numpy()) >= self.step:
            os.kill(os.getpid(), signal.SIGKILL)


class StopAtStep(keras.callbacks.Callback):
    """What a spent time budget does (training.callbacks.TimeLimit), at a chosen step instead of a time."""

    def __init__(self, step):
        super().__init__()
        self.step = step

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.optimizer.iterations.numpy()) >= self.step:
            self.model.stop_training = True


text = "".join(chr(97 + (i * 7 + i // 13) % 26) for i in range(4000))
token_ids = np.frombuffer(text.encode(), dtype=np.uint8).astype(np.int32) - 97
config = TrainingConfig(steps=args.steps, batch_size=args.batch_size, eval_interval=args.eval_interval or args.steps,
                        eval_batches=1, warmup_steps=1, jit_compile=args.jit, seed=7)
with training_runtime(args.strategy, log=lambda line: print(line, file=sys.stderr)) as strategy:
    keras.utils.set_random_seed(7)
    model = build_gpt(GPTConfig(vocab_size=26, max_length=16, num_layers=1, num_heads=2, hidden_dim=16))
    initial = [np.asarray(w) for w in model.get_weights()]
    crash = [KillAtStep(args.kill_at_step)] if args.kill_at_step else []
    crash += [StopAtStep(args.stop_at_step)] if args.stop_at_step else []
    train_language_model(model, token_ids, args.run_dir, config, verbose=0, callbacks=crash)
np.savez(args.out, replicas=strategy.num_replicas_in_sync, initial=np.concatenate([w.ravel() for w in initial]),
         final=np.concatenate([np.asarray(w).ravel() for w in model.get_weights()]))
print("saved", args.out, file=sys.stderr)
