"""Where an XLA-compiled GPT step spends its time on the CPU: ours vs keras-hub's GPT-2.

Profiles (TensorFlow profiler) either a training step (``--mode train``: the configuration of
``gpt_train_speed.py``, ``jit_compile=True``, ``steps_per_execution=50``) or the cached greedy
decoding loop (``--mode decode``: the configuration of ``gpt_generate_speed.py``, batch 1), dumps
the optimized XLA program, and joins the two: each executed XLA operation (a "thunk": a matmul, a
fused loop, a copy, ...) is timed by the profiler and described by the HLO dump (shape and the
TensorFlow op it came from). Prints, per step (training) or per token (decoding):

* time by kind of XLA operation (dot = matmul; copy/transpose/slice/concatenate = data movement;
  fusions of elementwise work; reduce-window = XLA's split of long reductions);
* time by part of the model (attention, feed-forward, optimizer, ...), training only.

Times are summed over the threads that start operations, so they can add up to more than the
wall time; a matmul that Eigen splits over both cores counts once, at its wall time.

Run:
    .venv/bin/python benchmarks/gpt_step_profile.py --mode train --model ours
    .venv/bin/python benchmarks/gpt_step_profile.py --mode decode --model hub
"""

import argparse
import collections
import glob
import os
import re
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("train", "decode"), default="train")
    parser.add_argument("--model", choices=("ours", "hub"), default="ours")
    parser.add_argument("--top", type=int, default=12, help="rows per table")
    return parser.parse_args(argv)


def profile_train(model_name, logdir):
    import gpt_train_speed as bench
    import tensorflow as tf

    ours_ds, hub_ds = bench.datasets(bench.SEED)
    model = bench.build_ours() if model_name == "ours" else bench.build_keras_hub()
    dataset = ours_ds if model_name == "ours" else hub_ds
    bench.compile_model(model, "xla", model_name == "hub")
    model.fit(dataset, epochs=1, steps_per_epoch=2 * bench.STEPS_PER_EXECUTION, verbose=0)  # compile, warm
    tf.profiler.experimental.start(logdir)
    model.fit(dataset, epochs=1, steps_per_epoch=bench.STEPS_PER_EXECUTION, verbose=0)
    tf.profiler.experimental.stop()
    return bench.STEPS_PER_EXECUTION


def profile_decode(model_name, logdir):
    import gpt_generate_speed as bench
    import numpy as np
    import tensorflow as tf

    from keras_llm.generation import Generator
    from keras_llm.tokenizers import CharTokenizer

    text = bench.load_corpus(bench.CORPUS)
    tokenizer = CharTokenizer.train(text)
    prompts = bench.make_prompts(text, 1)
    if model_name == "ours":
        run = bench.ours_ids_runner(Generator(bench.build_ours(tokenizer.vocab_size), tokenizer), prompts, True)
    else:
        prompt_ids = np.array([tokenizer.encode(p) for p in prompts], np.int32)
        run = bench.keras_hub_runner(bench.build_keras_hub(tokenizer.vocab_size, True), prompt_ids)
    run(1)
    run(1)
    tf.profiler.experimental.start(logdir)
    run(1)
    tf.profiler.experimental.stop()
    return bench.NEW_TOKENS


def hlo_descriptions(dump_dir):
    """Instruction name → (shape, TensorFlow op name) over every optimized XLA program."""
    described = {}
    for path in glob.glob(os.path.join(dump_dir, "*cpu_after_optimizations.txt")):
        with open(path) as f:
            text = f.read()
        for match in re.finditer(r"%([\w.\-]+) = (\S+) [\w-]+\(.*?\)(.*)", text):
            name, shape, rest = match.groups()
            op_name = re.search(r'op_name="([^"]*)"', rest)
            described.setdefault(name, (shape, op_name.group(1) if op_name else ""))
    return described


def thunk_events(logdir, instructions):
    """(thread, thunk name, start ps, end ps) of the XLA ``instructions`` run, and the program runs.

    Small programs run on the calling (Python) thread, large ones on XLA's worker threads: an
    event is an XLA operation when its name is one of the program's instructions.
    """
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    (path,) = glob.glob(os.path.join(logdir, "plugins", "profile", "*", "*.xplane.pb"))
    with open(path, "rb") as f:
        space.ParseFromString(f.read())
    thunks, runs = [], []
    for plane in space.planes:
        names = {key: meta.name for key, meta in plane.event_metadata.items()}
        for line in plane.lines:
            base = line.timestamp_ns * 1000
            for event in line.events:
                name = names.get(event.metadata_id, "?")
                start, end = base + event.offset_ps, base + event.offset_ps + event.duration_ps
                if name == "CpuExecutable::ExecuteAsyncOnStream":
                    runs.append((start, end))
                elif name in instructions and kind_of(name) not in _CONTAINERS:
                    thunks.append((line.name, name, start, end))
    return thunks, runs


# Control-flow thunks time the thunks they contain, which are traced too: leave them out.
_CONTAINERS = ("while", "cond", "conditional", "call")


def kind_of(thunk_name):
    return re.sub(r"[._]?\d+$", "", thunk_name).rstrip("._") or thunk_name


def part_of(op_name):
    lowered = op_name.lower()
    if "adam" in lowered or "optimizer" in lowered:
        return "optimizer (AdamW, clipping)"
    direction = "backward" if "gradient_tape" in lowered else "forward"
    for key, label in (("attention_norm", "layer norm"), ("feed_forward_norm", "layer norm"),
                       ("layer_norm", "layer norm"), ("final_norm", "layer norm"), ("_norm", "layer norm"),
                       ("attention", "attention"), ("feed_forward", "feed-forward"),
                       ("feedforward", "feed-forward"), ("embedding", "embeddings and tied output"),
                       ("crossentropy", "loss")):
        if key in lowered:
            return f"{direction} {label}"
    return "other (gradient sums, global norm, ...)" if op_name else "unnamed"


def print_table(title, times, counts, per, top):
    print(f"\n| {title} | ms per {per} | operations per {per} |\n|---|---:|---:|")
    for key, ms in times.most_common(top):
        print(f"| {key} | {ms:.3f} | {counts[key]:.1f} |")


def main(argv=None):
    args = parse_args(argv)
    dump_dir = tempfile.mkdtemp(prefix="xla_dump_")
    logdir = tempfile.mkdtemp(prefix="profile_")
    # XLA reads its flags once, when TensorFlow starts: set them before importing it.
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                               f" --xla_dump_to={dump_dir} --xla_dump_hlo_as_text").strip()
    sys.path.insert(0, HERE)
    import keras_llm  # noqa: F401  (sets the Keras backend)

    units = (profile_train if args.mode == "train" else profile_decode)(args.model, logdir)
    per = "step" if args.mode == "train" else "token"
    described = hlo_descriptions(dump_dir)
    thunks, runs = thunk_events(logdir, described)
    by_kind, kind_count = collections.Counter(), collections.Counter()
    by_part, part_count = collections.Counter(), collections.Counter()
    for _, name, start, end in thunks:
        ms = (end - start) / 1e9 / units
        by_kind[kind_of(name)] += ms
        kind_count[kind_of(name)] += 1 / units
        part = part_of(described.get(name, ("", ""))[1])
        by_part[part] += ms
        part_count[part] += 1 / units
    wall = sum(end - start for start, end in runs) / 1e9 / units
    print(f"{args.model}, {args.mode}: wall {wall:.3f} ms per {per} inside XLA programs; "
          f"thunk time summed over threads {sum(by_kind.values()):.3f} ms per {per}; "
          f"{sum(kind_count.values()):.0f} thunks per {per}")
    print_table("XLA operation kind", by_kind, kind_count, per, args.top)
    if args.mode == "train":
        print_table("part of the model", by_part, part_count, per, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
