"""Export an encoder–decoder translator as a SavedModel: raw source text in, translated text out.

The source tokenizer, beam search (with its key/value caches) and the target detokenizer are all
inside the graph, so a client (TF Serving, or Python with only ``tensorflow`` [+
``tensorflow_text`` when the tokenizers use its ops]) sends strings and gets strings back.
"""

import json
import os

import tensorflow as tf

from keras_llm.data.pairs import start_end_ids
from keras_llm.export.versions import write_version_atomically
from keras_llm.generation import DecodingOptions
from keras_llm.generation.buckets import bucket_index, power_of_two_buckets
from keras_llm.generation.seq2seq_search import translate_ids


class TranslatorModule(tf.Module):
    """The exported object; signatures ``translate`` and ``translate_xla``: ``texts`` → ``translations``.

    ``translate_xla`` runs the same decoding XLA-compiled, with each batch's sources padded to a
    power-of-two width (capped at ``max_source_length``), so it compiles once per (width, batch
    size); TF Serving runs it only with ``--xla_cpu_compilation_enabled``. ``serving_default`` is
    one of the two (``export_translator(..., xla=...)``); both give the same translations.

    ``texts`` and ``translations`` are ``tf.string [batch]`` (any batch size, 0 included).
    Defined behaviour for any input:

    * invalid UTF-8 is read as U+FFFD before tokenization (never an error);
    * a source longer than the model's ``max_source_length`` tokens keeps its first
      ``max_source_length`` tokens (the tail is dropped, as in :func:`translate_ids`), so a
      100,000-character input costs no more than a full-length sentence;
    * a text with no source tokens (empty, or only whitespace that the source tokenizer drops;
      a word tokenizer keeps ``"\\n"`` as a token) translates to ``""`` without decoding:
      an all-padding source would give the decoder nothing to attend to;
    * at most ``max_new_tokens`` target tokens, fewer when the end token comes first.

    Args:
        model: from ``build_seq2seq_transformer`` (built or reloaded from ``.keras``).
        source_tokenizer, target_tokenizer: in-graph tokenizers (``tokenize``/``detokenize``),
            the run's WordPiece tokenizers (``keras_llm.data.pairs``).
        start_id, end_id: target ids of the start and end tokens (``start_end_ids(target_tokenizer)``).
        options: :class:`~keras_llm.generation.DecodingOptions`: ``max_new_tokens`` (≤ the model's
            ``max_target_length``), ``num_beams`` (1 = greedy, else beam search) and
            ``length_penalty`` (beam ranking exponent, see ``beam_core``).

    Example:
        >>> options = DecodingOptions(max_new_tokens=20, num_beams=4)
        >>> module = TranslatorModule(model, eng_tok, spa_tok, *start_end_ids(spa_tok), options)
        >>> module.translate(tf.constant(["I like tea.", ""])).numpy()
        array([b'me gusta el t\xc3\xa9 .', b''], dtype=object)
    """

    def __init__(self, model, source_tokenizer, target_tokenizer, start_id, end_id, options):
        super().__init__()
        self.model = model
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer
        self.start_id, self.end_id, self.options = int(start_id), int(end_id), options
        self.max_source_length = int(model.get_layer("encoder_position_embedding").max_length)
        self.source_buckets = power_of_two_buckets(min(8, self.max_source_length), self.max_source_length)
        # Traced once with unknown shapes; XLA compiles it per (bucketed width, batch size) when it runs.
        self.translate_ids_xla = tf.function(
            lambda source_ids: translate_ids(self.model, source_ids, self.options, self.start_id, self.end_id),
            input_signature=[tf.TensorSpec([None, None], tf.int32)], jit_compile=True)

    def source_ids(self, texts):
        """``tf.string [batch]`` → int32 ``(batch, 1 .. max_source_length)``, right-padded with 0."""
        texts = tf.strings.unicode_transcode(texts, "UTF-8", "UTF-8", errors="replace")
        ragged = self.source_tokenizer.tokenize(texts)[:, :self.max_source_length]
        ids = tf.cast(ragged.to_tensor(0), tf.int32)
        # At least one column: a batch of empty sources becomes one all-padding column
        # instead of a zero-width tensor (attention over no keys at all).
        return tf.pad(ids, [[0, 0], [0, tf.maximum(1 - tf.shape(ids)[1], 0)]])

    def translate(self, texts, xla=False):
        """Eager or traced: ``tf.string [batch]`` → ``tf.string [batch]`` (XLA-compiled with ``xla=True``)."""
        source_ids = self.source_ids(texts)
        if xla:
            width = tf.gather(self.source_buckets, bucket_index(tf.shape(source_ids)[1], self.source_buckets))
            padded = tf.pad(source_ids, [[0, 0], [0, width - tf.shape(source_ids)[1]]])
            ids = self.translate_ids_xla(padded)
        else:
            ids = translate_ids(self.model, source_ids, self.options, self.start_id, self.end_id)
        # 0 pads after the end token; drop it so the detokenizer never sees it.
        translations = self.target_tokenizer.detokenize(tf.ragged.boolean_mask(ids, ids > 0))
        return tf.where(tf.reduce_any(source_ids > 0, axis=1), translations, "")

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="texts")])
    def serve(self, texts):
        return {"translations": self.translate(texts)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="texts")])
    def serve_xla(self, texts):
        return {"translations": self.translate(texts, xla=True)}


def export_translator(model, source_tokenizer, target_tokenizer, run_info, base_dir="saved_models",
                      name="translator", options=None, xla=False):
    """Write ``<base_dir>/<name>/<version>/`` (TF Serving layout) and return that path.

    Args:
        model, source_tokenizer, target_tokenizer, run_info: as returned by
            ``keras_llm.runs.translator.load_translator_run(run_dir)``; the target tokenizer's
            ``[CLS]``/``[SEP]`` are the start/end tokens. ``run_info`` (a JSON-able dict) is copied to
            ``assets.extra/run.json`` beside the graph, so a served version says what it was trained on.
        options: :class:`~keras_llm.generation.DecodingOptions` of ``serving_default`` (default:
            4 beams, length penalty 1). ``num_beams`` 1 is greedy; ``max_new_tokens`` ``None``
            (the default) is ``max_target_length - 1`` (as ``translate``), larger values are
            capped at ``max_target_length``.
        xla: make ``translate_xla`` (XLA-compiled; TF Serving needs ``--xla_cpu_compilation_enabled``)
            the ``serving_default`` instead of the portable ``translate``; both are always exported.

    Example:
        >>> options = DecodingOptions(max_new_tokens=None, num_beams=4)
        >>> path = export_translator(*load_translator_run("runs/transformer-spa-eng"), options=options)
        >>> served = tf.saved_model.load(path)
        >>> served.signatures["serving_default"](texts=tf.constant(["I like tea."]))["translations"]
    """
    options = DecodingOptions(max_new_tokens=None, num_beams=4) if options is None else options
    limit = int(model.get_layer("decoder_position_embedding").max_length)
    max_new_tokens = limit - 1 if options.max_new_tokens is None else min(int(options.max_new_tokens), limit)
    start_id, end_id = start_end_ids(target_tokenizer)
    module = TranslatorModule(model, source_tokenizer, target_tokenizer, start_id, end_id,
                              options.replace(max_new_tokens=max_new_tokens))
    signatures = {"translate": module.serve.get_concrete_function(),
                  "translate_xla": module.serve_xla.get_concrete_function()}
    signatures["serving_default"] = signatures["translate_xla" if xla else "translate"]

    def write(path):
        tf.saved_model.save(module, path, signatures=signatures)
        os.makedirs(os.path.join(path, "assets.extra"), exist_ok=True)
        with open(os.path.join(path, "assets.extra", "run.json"), "w", encoding="utf-8") as handle:
            json.dump(run_info or {}, handle, indent=2, ensure_ascii=False, default=str)

    return write_version_atomically(base_dir, name, write)
