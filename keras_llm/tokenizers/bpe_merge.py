"""Byte-pair merging of pre-tokenised pieces in TensorFlow ops (one merge per piece per step).

Hugging Face's BPE merges, in each piece, the adjacent pair of lowest rank, the leftmost one
first, until no pair of the piece is in the merge table. Each step of the loop below does
exactly that for every piece at once, so the tokens are Hugging Face's (the ``merges.txt`` of
a trained tokenizer only ever makes a pair whose parts were made by earlier merges, so one
merge at a time and GPT-2's "all occurrences of the pair" pass agree).
"""

import tensorflow as tf

_NO_RANK = tf.int32.max


class BytePairMerger(tf.Module):
    """Merge table of a byte-level BPE: pieces (bytes) → the tokens they merge into.

    Args:
        merges: ``"a b"`` rules in rank order, tokens in GPT-2's printable byte spelling.
        byte_symbols: the 256 printable characters standing for the bytes 0..255.
        name: ``tf.Module`` name.

    Call arguments:
        pieces: ``tf.string`` ``(n,)``, raw bytes of pre-tokenised pieces.

    Returns:
        ``tf.RaggedTensor`` of ``tf.string`` ``(n, None)``: each piece's tokens.

    Example:
        >>> merger = BytePairMerger(["Ġ w", "Ġw o"], byte_symbols)
        >>> merger(tf.constant([b" wo"])).to_list()   # [[b'\\xc4\\xa0wo']]
    """

    def __init__(self, merges, byte_symbols, name=None):
        super().__init__(name=name)
        keys = list(merges) or ["\x00 \x00"]  # a table needs one key; this pair never occurs
        self._ranks = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(tf.constant(keys), tf.range(len(keys), dtype=tf.int32)),
            default_value=_NO_RANK)
        self._byte_symbols = tf.constant(list(byte_symbols))

    def __call__(self, pieces):
        # Repeated pieces (most words of a text) are merged once.
        unique, index = tf.unique(pieces)
        # Latin-1 reads each byte as the code point of the same value: the byte's index.
        byte_values = tf.strings.unicode_decode(unique, "ISO-8859-1")
        symbols = tf.gather(self._byte_symbols, byte_values.flat_values)
        splits = byte_values.row_splits
        symbols, splits = tf.while_loop(
            lambda symbols, splits, more: more,
            self._merge_step_loop,
            (symbols, splits, tf.constant(True)),
            shape_invariants=(tf.TensorShape([None]), tf.TensorShape([None]), tf.TensorShape([])))[:2]
        merged = tf.RaggedTensor.from_row_splits(symbols, splits)
        return tf.gather(merged, index)

    def _merge_step_loop(self, symbols, splits, _):
        return self.merge_step(symbols, splits)

    def merge_step(self, symbols, splits):
        """One merge in every piece that has a pair in the table.

        Args:
            symbols: flat ``tf.string`` tokens of all pieces; ``splits``: int64 row splits.

        Returns:
            ``(symbols, splits, merged_any)``.
        """
        count = tf.size(symbols)
        num_pieces = tf.size(splits) - 1
        row_ids = tf.cast(tf.ragged.row_splits_to_segment_ids(splits, out_type=tf.int64), tf.int32)
        same_piece = tf.equal(row_ids[:-1], row_ids[1:])
        pairs = tf.strings.join([symbols[:-1], symbols[1:]], separator=" ")
        ranks = tf.where(same_piece, self._ranks.lookup(pairs), _NO_RANK)
        best_rank = tf.math.unsorted_segment_min(ranks, row_ids[:-1], num_pieces)
        position = tf.range(count - 1)
        chosen = (ranks < _NO_RANK) & tf.equal(ranks, tf.gather(best_rank, row_ids[:-1]))
        first = tf.math.unsorted_segment_min(tf.where(chosen, position, count), row_ids[:-1], num_pieces)
        merge_at = tf.gather(first, row_ids[:-1])
        is_left = tf.equal(position, merge_at)  # pair (i, i + 1) is merged
        left = tf.concat([is_left, [False]], axis=0)
        right = tf.concat([[False], is_left], axis=0)
        right_symbol = tf.concat([symbols[1:], [""]], axis=0)
        joined = tf.where(left, tf.strings.join([symbols, right_symbol]), symbols)
        kept = tf.boolean_mask(joined, ~right)
        removed = tf.math.unsorted_segment_sum(tf.cast(right, tf.int64), row_ids, num_pieces)
        new_lengths = (splits[1:] - splits[:-1]) - removed
        new_splits = tf.concat([tf.zeros([1], tf.int64), tf.cumsum(new_lengths)], axis=0)
        return kept, new_splits, tf.reduce_any(is_left)
