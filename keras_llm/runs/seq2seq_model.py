"""The tokenizers and the model of a seq2seq run: trained from scratch, or warm-started from a BERT.

From scratch, each side gets a WordPiece vocabulary learnt on the training pairs (or both sides
one given vocabulary, the recipe's ``tokenizer: vocabulary: FILE``). With ``init_from`` (a
Hugging Face BERT directory or ``package:<module>``) both sides use the BERT's own WordPiece
tokenizer and the model is :func:`keras_llm.checkpoints.bert2bert.bert2bert_config`, loaded by
:func:`~keras_llm.checkpoints.bert2bert.load_bert_into_seq2seq`. A BERT whose vocabulary differs
from the tokenizer the run asks for (the recipe's vocabulary, or the tokenizers of the run being
resumed) is refused: ids would mean other tokens than the BERT learnt.
"""

import os

from keras_llm.checkpoints.bert2bert import bert2bert_config, load_bert_into_seq2seq
from keras_llm.checkpoints.hf_bert import bert_config_from_hf, load_hf_bert_tokenizer
from keras_llm.checkpoints.model_directory import resolve_model_directory
from keras_llm.data.pairs import train_pair_tokenizers
from keras_llm.errors import UserInputError
from keras_llm.models.seq2seq import Seq2SeqConfig, build_seq2seq_transformer
from keras_llm.tokenizers import WordPieceTokenizer, load_tokenizer

SIDES = ("source_tokenizer", "target_tokenizer")


def _first_difference(ours, theirs):
    if len(ours) != len(theirs):
        return f"{len(ours):,} tokens vs the BERT's {len(theirs):,}"
    index = next(i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b)
    return f"id {index} is {ours[index]!r} there but {theirs[index]!r} in the BERT"


def check_same_vocabulary(tokenizer, bert_tokenizer, what, init_from):
    """Refuse (one line) a ``tokenizer`` whose vocabulary is not the BERT's, token for token."""
    if list(tokenizer.vocabulary) != list(bert_tokenizer.vocabulary):
        raise UserInputError(f"init_from {init_from}: the BERT's vocabulary differs from {what} "
                             f"({_first_difference(list(tokenizer.vocabulary), list(bert_tokenizer.vocabulary))}); "
                             "a warm start needs the BERT's own tokenizer")


def make_tokenizers(run_dir, train_pairs, spec, init_from=None):
    """``(source_tokenizer, target_tokenizer)`` of a run, saved into it (reloaded when resuming).

    Args:
        train_pairs: ``(sources, targets)`` to learn vocabularies from.
        spec: the recipe's ``tokenizer:`` section: ``source_vocabulary_size``,
            ``target_vocabulary_size``, ``lowercase``, or ``vocabulary`` (a vocab.txt for both sides).
        init_from: a resolved BERT directory, or None.
    """
    paths = [os.path.join(run_dir, side) for side in SIDES]
    lowercase = bool(spec.get("lowercase", True))
    bert = load_hf_bert_tokenizer(init_from) if init_from else None
    if all(os.path.isdir(path) for path in paths):  # resuming: ids must keep their meaning
        tokenizers = tuple(load_tokenizer(path) for path in paths)
        if bert is not None:
            for side, tokenizer in zip(SIDES, tokenizers):
                check_same_vocabulary(tokenizer, bert, f"the run's {side.replace('_', ' ')}", init_from)
        return tokenizers
    if spec.get("vocabulary"):
        given = WordPieceTokenizer.from_vocab_file(spec["vocabulary"], lowercase=lowercase, strip_accents=False)
        if bert is not None:
            check_same_vocabulary(given, bert, f"the requested tokenizer vocabulary {spec['vocabulary']}", init_from)
        tokenizers = (given, given)
    elif bert is not None:
        tokenizers = (bert, bert)
    else:
        tokenizers = train_pair_tokenizers(*train_pairs, int(spec.get("source_vocabulary_size", 8000)),
                                           int(spec.get("target_vocabulary_size", 8000)), lowercase=lowercase)
    for tokenizer, path in zip(tokenizers, paths):
        tokenizer.save(path)
    return tokenizers


def resolve_init_from(init_from):
    """A BERT directory from a path or ``package:<module>`` (None stays None)."""
    return resolve_model_directory(init_from) if init_from else None


def model_config(recipe_config, overrides, tokenizers, init_from=None):
    """The run's :class:`Seq2SeqConfig`: the recipe's ``model_config`` with ``overrides``, or, warm-started,
    the BERT's shape with the recipe's lengths (and dropout)."""
    settings = {**recipe_config, **(overrides or {})}
    if init_from:
        fixed = sorted(set(overrides or {}) & {"num_encoder_layers", "num_decoder_layers", "hidden_dim",
                                                 "intermediate_dim", "num_heads"})
        if fixed:
            raise UserInputError(f"init_from: the BERT fixes the model's shape; {', '.join(fixed)} cannot be changed")
        return bert2bert_config(bert_config_from_hf(init_from), int(settings.get("max_source_length", 128)),
                                int(settings.get("max_target_length", 32)), settings.get("dropout"))
    return Seq2SeqConfig(source_vocabulary_size=tokenizers[0].vocab_size,
                         target_vocabulary_size=tokenizers[1].vocab_size, **settings)


def build_model(config, init_from=None, log=print):
    """Build the model of ``config``; load the BERT of ``init_from`` into it when given."""
    model = build_seq2seq_transformer(config)
    if init_from:
        used = load_bert_into_seq2seq(model, init_from, config.num_heads)
        log(f"warm start from {init_from}: {len(used)} BERT tensors copied into encoder and decoder; "
            "cross-attention newly initialised")
    return model
