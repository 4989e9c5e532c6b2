"""A tiny random BERT model folder (sentence-transformers layout) for fast ONNX tests."""

import json
from pathlib import Path

from app.search.e5_tokenizer import write_tokenizer_files
from app.search.model_layout import write_json, write_sentence_transformers_config

CHARS = "一种锂电池正极材料的制备方法风力发电机叶片农作物收割装置abcdefghijklmnopqrstuvwxyz :"
SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]
DIM = 32


def build_tiny_model(folder: Path) -> Path:
    """Write a 2-layer, 32-d BERT with a character tokenizer and the e5 prompts into ``folder``."""
    import torch
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, processors
    from transformers import BertConfig, BertModel

    vocab = {token: i for i, token in enumerate(SPECIALS + sorted(set(CHARS)))}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    folder.mkdir(parents=True, exist_ok=True)
    specials = {
        "bos_token": "<s>",
        "cls_token": "<s>",
        "eos_token": "</s>",
        "sep_token": "</s>",
        "pad_token": "<pad>",
        "unk_token": "<unk>",
    }
    write_tokenizer_files(tokenizer, folder, specials=specials)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=DIM,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        pad_token_id=1,
    )
    BertModel(config).save_pretrained(str(folder))
    write_sentence_transformers_config(folder, DIM, max_seq_length=64)
    prompts = {"prompts": {"query": "query: ", "document": "passage: "}}
    write_json(folder / "config_sentence_transformers.json", prompts)
    record = {
        "name": folder.name,
        "source": "test",
        "sha256": "",
        "licence": "test",
        "dim": DIM,
        "query_prompt": "query: ",
        "document_prompt": "passage: ",
    }
    (folder / "patentmatch.json").write_text(json.dumps(record), encoding="utf-8")
    return folder
