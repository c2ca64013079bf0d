"""Training step time of every model family with and without XLA (docs/benchmarks.md, issue 9 item 5).

Run: .venv/bin/python benchmarks/xla_speed.py [--steps 40 --rounds 3 --models gpt,bert_classifier,...]

Each model trains on random inputs of its recipe's shape with Adam and its usual loss, in
three settings, alternating within one process: plain ``tf.function`` (XLA off), XLA on, and
XLA on with ``steps_per_execution=10``. The median and the minimum ms/step over rounds are reported
(the first fit of each setting compiles and is not timed). Results go to benchmarks/results/xla_speed.json.
"""

import argparse
import json
import os
import platform
import statistics
import time

import keras  # noqa: E402, I001
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_llm  # noqa: F401  (TensorFlow backend)
from keras_llm.models import BertConfig, GPTConfig, RNNConfig, build_bert_classifier, build_gpt, build_rnn_lm  # noqa: E402
from keras_llm.models.bert_mlm import build_bert_masked_lm  # noqa: E402
from keras_llm.models.rnn import build_rnn_classifier  # noqa: E402
from keras_llm.models.seq2seq import Seq2SeqConfig, build_seq2seq_transformer  # noqa: E402
from keras_llm.models.token_classifier import build_token_classifier  # noqa: E402

RNG = np.random.default_rng(0)
SETTINGS = {"no_xla": dict(jit_compile=False), "xla": dict(jit_compile=True),
            "xla_spe10": dict(jit_compile=True, steps_per_execution=10)}


def _ids(batch, length, vocab):
    return RNG.integers(1, vocab, size=(batch, length)).astype("int32")


def _bert_inputs(batch, length, vocab):
    ids = _ids(batch, length, vocab)
    return {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": np.ones_like(ids)}


def _small_bert(vocab):  # the bert-sentiment / bert-mlm recipes' encoder
    return BertConfig(vocab_size=vocab, hidden_dim=128, num_layers=2, num_heads=2, intermediate_dim=512, max_length=64)


def _model_specs():
    """name -> (description, builder, inputs, targets) at each recipe's batch and length."""
    gpt_x = _ids(12, 64, 65)
    mlm_inputs = {**_bert_inputs(32, 64, 4000), "mask_positions": RNG.integers(0, 64, (32, 10)).astype("int32")}
    specs = {
        "gpt": ("baby GPT (gpt-shakespeare-char: 4×128, context 64, batch 12)",
                lambda: build_gpt(GPTConfig(vocab_size=65)), gpt_x, _ids(12, 64, 65)),
        "bert_classifier": ("small BERT classifier (bert-sentiment: 2×128, length 64, batch 32)",
                            lambda: build_bert_classifier(_small_bert(4000), 2), _bert_inputs(32, 64, 4000),
                            RNG.integers(0, 2, 32)),
        "bert_mlm": ("small BERT masked LM (bert-mlm: 2×128, length 64, 10 predictions, batch 32)",
                     lambda: build_bert_masked_lm(_small_bert(4000)), mlm_inputs, _ids(32, 10, 4000)),
        "lstm_lm": ("LSTM LM (1×512, char vocab 65, context 64, batch 12)",
                    lambda: build_rnn_lm(RNNConfig(vocab_size=65, cell="lstm", units=512, embedding_dim=128)),
                    gpt_x, _ids(12, 64, 65)),
        "gru_lm": ("GRU LM (1×512, char vocab 65, context 64, batch 12)",
                   lambda: build_rnn_lm(RNNConfig(vocab_size=65, cell="gru", units=512, embedding_dim=128)),
                   gpt_x, _ids(12, 64, 65)),
        "bilstm_classifier": ("BiLSTM classifier (1×128 per direction, length 64, batch 32)",
                              lambda: build_rnn_classifier(4000, 2, units=128, embedding_dim=128),
                              _ids(32, 64, 4000), RNG.integers(0, 2, 32)),
        "seq2seq": ("translator (transformer-spa-eng: 2+2 layers × 128, vocab 8000/10000, lengths 20, batch 64)",
                    lambda: build_seq2seq_transformer(Seq2SeqConfig(8000, 10000, hidden_dim=128, intermediate_dim=512,
                                                                    max_source_length=20, max_target_length=20)),
                    {"encoder_token_ids": _ids(64, 20, 8000), "decoder_token_ids": _ids(64, 20, 10000)},
                    _ids(64, 20, 10000)),
        "bert_tagger": ("BERT tagger (bert-pos-ewt: 2×128, 17 tags, length 64, batch 32)",
                        lambda: build_token_classifier("bert", num_tags=17, vocab_size=8000, hidden_dim=128,
                                                       num_layers=2, num_heads=2, intermediate_dim=512, max_length=128),
                        _bert_inputs(32, 64, 8000), RNG.integers(0, 17, (32, 64))),
        "bilstm_tagger": ("BiLSTM tagger (bilstm-pos-ewt: 1×128 per direction, 17 tags, length 64, batch 32)",
                          lambda: build_token_classifier("bilstm", num_tags=17, vocab_size=8000, units=128,
                                                         embedding_dim=128),
                          _bert_inputs(32, 64, 8000), RNG.integers(0, 17, (32, 64))),
    }
    return specs


def _compiled(builder, setting):
    keras.utils.set_random_seed(0)
    model = builder()
    model.compile(optimizer=keras.optimizers.Adam(1e-4),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), **SETTINGS[setting])
    return model


def _dataset(inputs, targets):
    return tf.data.Dataset.from_tensors((inputs, targets)).repeat()


def _ms_per_step(model, data, steps):
    start = time.perf_counter()
    model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
    return (time.perf_counter() - start) / steps * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--models", help="comma-separated subset")
    parser.add_argument("--out", default="benchmarks/results/xla_speed.json")
    parser.add_argument("--append", action="store_true", help="merge into an existing --out file")
    args = parser.parse_args()
    specs = _model_specs()
    names = args.models.split(",") if args.models else list(specs)
    results = {}
    for name in names:
        description, builder, inputs, targets = specs[name]
        data = _dataset(inputs, targets)
        models = {setting: _compiled(builder, setting) for setting in SETTINGS}
        for model in models.values():  # compile (and warm up) outside the timing
            model.fit(data, steps_per_epoch=10, epochs=1, verbose=0)
        times = {setting: [] for setting in SETTINGS}
        for _ in range(args.rounds):
            for setting, model in models.items():
                times[setting].append(_ms_per_step(model, data, args.steps))
        medians = {setting: round(statistics.median(values), 2) for setting, values in times.items()}
        # This sandbox's CPU quota sometimes throttles whole stretches (step times jump to a fixed
        # ~170 ms); throttling only slows, so the fastest round is the least disturbed one.
        minimums = {setting: round(min(values), 2) for setting, values in times.items()}
        results[name] = {"model": description, "ms_per_step": medians, "min_ms_per_step": minimums}
        print(f"{name:18s} " + "  ".join(f"{setting} {medians[setting]:7.2f} (min {minimums[setting]:7.2f}) ms"
                                          for setting in SETTINGS), flush=True)
    if args.append and os.path.isfile(args.out):
        with open(args.out) as handle:
            results = {**json.load(handle)["results"], **results}
    report = {"date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
              "tensorflow": tf.__version__, "keras": keras.__version__, "steps": args.steps, "rounds": args.rounds,
              "results": results}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as handle:
        json.dump(report, handle, indent=2)


if __name__ == "__main__":
    main()
