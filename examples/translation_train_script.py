"""Train a translator from TSV files, in the shape of a PyTorch training script.

    python examples/translation_train_script.py --train_data train.tsv --val_data val.tsv \
        --epochs 10 --batch_size 64 --output_dir out/

Files: UTF-8, one pair per line, ``source<TAB>target`` (other columns ignored; ``--source_column`` /
``--target_column`` pick others), no header. For example, split the bundled English–Spanish pairs:

    shuf --random-source=<(yes) data/spa_eng/spa.txt > /tmp/pairs.tsv
    head -n 2000 /tmp/pairs.tsv > /tmp/val.tsv; tail -n +2001 /tmp/pairs.tsv > /tmp/train.tsv

Where the usual PyTorch pieces are here:

| PyTorch script                            | this script (Keras + keras_llm)                                 |
|-------------------------------------------|-----------------------------------------------------------------|
| tokenizer + ``Dataset``/``DataLoader``    | ``train_pair_tokenizers`` + ``pairs_dataset`` (tokenizes inside tf.data) |
| ``nn.Module`` encoder–decoder             | ``build_seq2seq_transformer(Seq2SeqConfig(...))``                 |
| ``CrossEntropyLoss(ignore_index=pad)``    | ``MaskedSparseCrossEntropy`` (label smoothing 0.1)                |
| ``AdamW`` + ``LambdaLR`` warm-up          | AdamW, warm-up + cosine decay (both set by ``compile_translator``) |
| ``for epoch: for batch: loss.backward()`` | ``model.fit(train, epochs=..., validation_data=val)``             |
| ``model.eval()`` + ``torch.no_grad()``    | ``validation_data`` and ``translate`` (no dropout, no gradients)  |
| greedy/beam decode loop                   | ``keras_llm.generation.translate`` (cached, one ``tf.while_loop``) |
| ``torch.save(model.state_dict())``        | ``model.save("model.keras")`` + ``tokenizer.save(dir)``           |

Everything lands in ``--output_dir``: ``model.keras`` (the weights of the epoch with the lowest
validation loss), ``source_tokenizer/``, ``target_tokenizer/``, ``metrics.json`` (loss, token
accuracy, BLEU and chrF per epoch) and ``logs/`` (TensorBoard). ``--export`` also writes a
TF Serving SavedModel (text in, text out) under ``--output_dir/saved_model/translator/1``.
"""

import argparse
import json
import os
import time

import keras_llm  # noqa: F401  (sets KERAS_BACKEND=tensorflow, so it must precede `import keras`)

# isort: split
import keras

from keras_llm.data.pairs import filter_by_length, pairs_dataset, read_pairs, train_pair_tokenizers
from keras_llm.generation import DecodingOptions, translate
from keras_llm.models.seq2seq import Seq2SeqConfig, build_seq2seq_transformer
from keras_llm.training.translation_metrics import TranslationMetricsCallback, corpus_bleu, corpus_chrf
from keras_llm.training.translator import TranslatorTrainingConfig, compile_translator


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train_data", required=True, help="TSV of training pairs")
    parser.add_argument("--val_data", required=True, help="TSV of validation pairs")
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3, help="peak learning rate")
    parser.add_argument("--warmup_steps", type=int, default=300)
    parser.add_argument("--source_column", type=int, default=0)
    parser.add_argument("--target_column", type=int, default=1)
    parser.add_argument("--max_length", type=int, default=32, help="tokens per side; longer training pairs are dropped")
    parser.add_argument("--src_vocab_size", type=int, default=8000)
    parser.add_argument("--tgt_vocab_size", type=int, default=8000)
    parser.add_argument("--d_model", type=int, default=128)
    parser.add_argument("--ffn_dim", type=int, default=512)
    parser.add_argument("--num_layers", type=int, default=2, help="encoder and decoder layers each")
    parser.add_argument("--num_heads", type=int, default=4)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--num_beams", type=int, default=4, help="decoding for the final report (1 = greedy)")
    parser.add_argument("--bleu_pairs", type=int, default=200, help="validation pairs translated each epoch")
    parser.add_argument("--bleu_tokenize", default="13a", help='sacrebleu tokenizer; "zh" for Chinese targets')
    parser.add_argument("--seed", type=int, default=1337)
    parser.add_argument("--export", action="store_true", help="also write a TF Serving SavedModel")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: a tiny model run eagerly (tracing costs more than a few steps)")
    parser.add_argument("--verbose", type=int, default=2)
    args = parser.parse_args(argv)
    if args.quick:
        args.d_model, args.ffn_dim, args.num_layers, args.num_heads, args.max_length = 16, 32, 1, 2, 12
        args.bleu_pairs, args.warmup_steps = min(args.bleu_pairs, 8), 2
    return args


def main(argv=None):
    """Train, keep the best epoch, report validation BLEU/chrF; returns the metrics dict."""
    args = parse_args(argv)
    started = time.perf_counter()
    os.makedirs(args.output_dir, exist_ok=True)
    train = read_pairs(args.train_data, args.source_column, args.target_column)
    val = read_pairs(args.val_data, args.source_column, args.target_column)
    source_tokenizer, target_tokenizer = train_pair_tokenizers(*train, args.src_vocab_size, args.tgt_vocab_size)
    *train, dropped = filter_by_length(*train, source_tokenizer, target_tokenizer, args.max_length, args.max_length)
    print(f"train: {len(train[0])} pairs ({dropped} longer than {args.max_length} tokens dropped); "
          f"val: {len(val[0])} pairs; vocabularies {source_tokenizer.vocab_size} / {target_tokenizer.vocab_size}")

    steps_per_epoch = -(-len(train[0]) // args.batch_size)
    config = TranslatorTrainingConfig(steps=args.epochs * steps_per_epoch, batch_size=args.batch_size,
                                      learning_rate=args.lr, warmup_steps=args.warmup_steps, seed=args.seed,
                                      bleu_tokenize=args.bleu_tokenize)
    keras.utils.set_random_seed(args.seed)
    model = build_seq2seq_transformer(Seq2SeqConfig(
        source_tokenizer.vocab_size, target_tokenizer.vocab_size, num_encoder_layers=args.num_layers,
        num_decoder_layers=args.num_layers, num_heads=args.num_heads, hidden_dim=args.d_model,
        intermediate_dim=args.ffn_dim, max_source_length=args.max_length, max_target_length=args.max_length,
        dropout=args.dropout))
    compile_translator(model, config)
    model.run_eagerly = args.quick
    print(f"{model.count_params():,} parameters; {args.epochs} epochs x {steps_per_epoch} steps")

    # Validation sources are cut to max_length by the decoder; validation loss uses the same cut.
    shape = dict(max_source_length=args.max_length, max_target_length=args.max_length)
    train_data = pairs_dataset(*train, source_tokenizer, target_tokenizer, args.batch_size, seed=args.seed, **shape)
    val_data = pairs_dataset(*val, source_tokenizer, target_tokenizer, args.batch_size, shuffle=False, **shape)
    best_path = os.path.join(args.output_dir, "model.keras")
    callbacks = [
        TranslationMetricsCallback(lambda texts: translate(model, source_tokenizer, target_tokenizer, texts),
                                   val[0][:args.bleu_pairs], val[1][:args.bleu_pairs],
                                   os.path.join(args.output_dir, "logs"), steps_per_epoch,
                                   tokenize=args.bleu_tokenize, num_examples=3, verbose=bool(args.verbose)),
        keras.callbacks.ModelCheckpoint(best_path, monitor="val_loss", save_best_only=True),
        keras.callbacks.TensorBoard(os.path.join(args.output_dir, "logs")),
    ]
    history = model.fit(train_data, validation_data=val_data, epochs=args.epochs, callbacks=callbacks,
                        verbose=args.verbose)
    source_tokenizer.save(os.path.join(args.output_dir, "source_tokenizer"))
    target_tokenizer.save(os.path.join(args.output_dir, "target_tokenizer"))

    best = keras.models.load_model(best_path, compile=False)
    sample = val[0][:args.bleu_pairs]
    decoding = DecodingOptions(max_new_tokens=None, num_beams=args.num_beams)
    outputs = translate(best, source_tokenizer, target_tokenizer, sample, decoding)
    references = val[1][:args.bleu_pairs]
    metrics = {"epochs": {k: [float(v) for v in values] for k, values in history.history.items()},
               "best_epoch": int(min(range(args.epochs), key=lambda e: history.history["val_loss"][e])) + 1,
               "final": {"num_beams": args.num_beams, "pairs": len(sample),
                         "bleu": corpus_bleu(outputs, references, args.bleu_tokenize),
                         "chrf": corpus_chrf(outputs, references)},
               "examples": [{"source": s, "translation": o, "reference": r}
                            for s, o, r in list(zip(sample, outputs, references))[:5]],
               "seconds": time.perf_counter() - started}
    if args.export:
        from keras_llm.export.translator import export_translator

        metrics["saved_model"] = export_translator(
            best, source_tokenizer, target_tokenizer, {"train_data": os.path.abspath(args.train_data)},
            base_dir=os.path.join(args.output_dir, "saved_model"), options=decoding)
    with open(os.path.join(args.output_dir, "metrics.json"), "w", encoding="utf-8") as handle:
        json.dump(metrics, handle, indent=2, ensure_ascii=False)
    final = metrics["final"]
    print(f"best epoch {metrics['best_epoch']}: BLEU {final['bleu']:.2f}, chrF {final['chrf']:.2f} on "
          f"{final['pairs']} validation pairs ({args.num_beams} beams); wrote {args.output_dir}")
    return metrics


if __name__ == "__main__":
    main()
