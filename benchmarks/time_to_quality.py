"""Wall time to a validation loss: nanoGPT's CPU baby GPT vs `keras-llm train gpt-shakespeare-char`.

Both commands run as users run them, in fresh processes, alternately (ours, nanoGPT, ours, ...), so the
load of a shared machine hits both alike. Each process's output is read line by line as it arrives;
the time of a line is counted from the process start, so interpreter start-up, imports, data loading,
compilation and every evaluation are included on both sides. The first evaluation whose validation
loss is at or below ``--target`` gives the time to quality.

nanoGPT needs a checkout with ``data/shakespeare_char`` prepared and a Python with torch (never this
project's environment), e.g.::

    python -m venv /tmp/ng && /tmp/ng/bin/pip install torch==2.13.0 numpy requests
    git clone https://github.com/karpathy/nanoGPT /tmp/nanogpt
    (cd /tmp/nanogpt/data/shakespeare_char && /tmp/ng/bin/python prepare.py)
    .venv/bin/python benchmarks/time_to_quality.py --nanogpt-dir /tmp/nanogpt --nanogpt-python /tmp/ng/bin/python

``--recipe gpt-shakespeare-char-muon`` times the same model trained with Muon (docs/benchmarks.md).
Extra flags for our side (a faster schedule, say) go after ``--ours-args``, e.g.
``--ours-args "--steps 1000 --learning-rate 2e-3"``.
"""

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time

# "250/250 - 25s - 100ms/step - loss: 2.8795 - ... - val_loss: 2.4731 - ..." (our per-evaluation line)
OURS_EVAL = re.compile(r"val_loss: ([0-9.]+)")
# "step 250: train loss 2.4351, val loss 2.4731" (nanoGPT's per-evaluation line)
NANOGPT_EVAL = re.compile(r"step (\d+): train loss [0-9.]+, val loss ([0-9.]+)")

NANOGPT_FLAGS = ("config/train_shakespeare_char.py --device=cpu --compile=False --eval_iters=20 --log_interval=1 "
                 "--block_size=64 --batch_size=12 --n_layer=4 --n_head=4 --n_embd=128 --max_iters=2000 "
                 "--lr_decay_iters=2000 --dropout=0.0")


def timed_evaluations(command, pattern, cwd=None):
    """Run ``command``; returns ``(evaluations, total_seconds)`` where evaluations are ``(seconds, val_loss)``."""
    started = time.monotonic()
    evaluations = []
    with subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          bufsize=1, env={**os.environ, "PYTHONUNBUFFERED": "1"}) as process:
        for line in process.stdout:
            match = pattern.search(line)
            if match:
                evaluations.append((time.monotonic() - started, float(match.groups()[-1])))
        process.wait()
    if process.returncode:
        raise SystemExit(f"{command[0]} failed with exit code {process.returncode}")
    return evaluations, time.monotonic() - started


def first_at_or_below(evaluations, target):
    """``(seconds, val_loss, index)`` of the first evaluation at or below ``target``; None if none."""
    for index, (seconds, loss) in enumerate(evaluations):
        if loss <= target:
            return seconds, loss, index
    return None


def ours_command(keras_llm, run_dir, extra, recipe="gpt-shakespeare-char"):
    return [keras_llm, "train", recipe, "--run-dir", run_dir, *extra]


def nanogpt_command(python, out_dir):
    return [python, "train.py", *NANOGPT_FLAGS.split(), f"--out_dir={out_dir}"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nanogpt-dir", required=True, help="a nanoGPT checkout with shakespeare_char prepared")
    parser.add_argument("--nanogpt-python", required=True, help="a Python with torch for nanoGPT")
    parser.add_argument("--keras-llm", default=os.path.join(os.path.dirname(sys.executable), "keras-llm"))
    parser.add_argument("--target", type=float, default=1.8857, help="validation loss to reach (default: "
                        "nanoGPT's final loss in the 2026-11-29 measurement)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--recipe", default="gpt-shakespeare-char",
                        help="our recipe (same model and data): gpt-shakespeare-char (AdamW, nanoGPT's schedule) "
                             "or gpt-shakespeare-char-muon")
    parser.add_argument("--ours-args", default="", help="extra flags for our train command, one string")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="time-to-quality-") as scratch:
        for round_index in range(args.rounds):
            for side in ("ours", "nanoGPT"):
                out = os.path.join(scratch, f"{side}-{round_index}")
                if side == "ours":
                    evaluations, total = timed_evaluations(
                        ours_command(args.keras_llm, out, shlex.split(args.ours_args), args.recipe), OURS_EVAL)
                else:
                    evaluations, total = timed_evaluations(nanogpt_command(args.nanogpt_python, out), NANOGPT_EVAL,
                                                           cwd=args.nanogpt_dir)
                reached = first_at_or_below(evaluations, args.target)
                load = os.getloadavg()[0]
                rows.append((round_index, side, reached, evaluations[-1][1] if evaluations else float("nan"),
                             total, load))
                print(f"round {round_index} {side}: " + (
                    f"val loss {reached[1]:.4f} <= {args.target} at evaluation {reached[2] + 1}, {reached[0]:.1f} s"
                    if reached else f"never reached {args.target}") +
                    f"; final val loss {rows[-1][3]:.4f}; whole run {total:.1f} s; load {load:.1f}", flush=True)
    print("\n| round | side | seconds to target | final val loss | whole run s | load (1 min) |")
    print("|---|---|---:|---:|---:|---:|")
    for round_index, side, reached, final, total, load in rows:
        seconds = f"{reached[0]:.1f}" if reached else "not reached"
        print(f"| {round_index} | {side} | {seconds} | {final:.4f} | {total:.1f} | {load:.1f} |")
    for round_index in range(args.rounds):
        pair = {side: reached for r, side, reached, *_ in rows if r == round_index}
        if pair.get("ours") and pair.get("nanoGPT"):
            print(f"round {round_index}: ours / nanoGPT time to target = {pair['ours'][0] / pair['nanoGPT'][0]:.2f}x")


if __name__ == "__main__":
    main()
