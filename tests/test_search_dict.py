"""The Chinese search's jieba dictionary is the glossary's terms (tools/search_dict.py)."""

import importlib.util
import logging
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("search_dict", ROOT / "tools" / "search_dict.py")
search_dict = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(search_dict)


def test_committed_dictionary_matches_glossary():
    committed = search_dict.DICTIONARY.read_text(encoding="utf-8")
    assert committed == search_dict.expected(), "run: python tools/search_dict.py"


def test_config_passes_the_dictionary_to_sphinx():
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["sphinx"]["config"]
    assert config["html_search_language"] == "zh"
    assert (ROOT / config["html_search_options"]["dict"]) == search_dict.DICTIONARY


def test_entries_are_parsed():
    text = (
        "```{glossary}\n梯度下降（gradient descent）\n  沿负梯度……\n\n"
        "支持向量机（support vector machine，SVM）\n  最大化间隔。\n\nAdam\n  优化器。\n```\n"
        "正文（不是术语）\n"
    )
    assert search_dict.glossary_entries(text) == [
        ("梯度下降", "gradient descent"),
        ("支持向量机", "support vector machine，SVM"),
        ("Adam", ""),
    ]
    with pytest.raises(ValueError):
        search_dict.glossary_entries("```{glossary}\n术语\n")


def test_glossary_has_the_terms_readers_look_up():
    terms = search_dict.glossary_terms(search_dict.GLOSSARY.read_text(encoding="utf-8"))
    assert len(terms) > 150
    for term in ("梯度下降", "支持向量机", "扩散模型", "模式崩溃", "Lloyd算法", "不饱和损失"):
        assert term in terms


def test_jieba_keeps_every_term_whole_with_the_dictionary():
    jieba = pytest.importorskip("jieba")
    jieba.setLogLevel(logging.ERROR)
    tokenizer = jieba.Tokenizer()
    tokenizer.load_userdict(str(search_dict.DICTIONARY))
    terms = search_dict.glossary_terms(search_dict.GLOSSARY.read_text(encoding="utf-8"))
    # Sphinx's Chinese index drops one-character words (SearchChinese.word_filter), such as 轮
    terms = [t for t in terms if len(t) > 1]
    missing = [t for t in terms if t not in tokenizer.cut_for_search(f"本章讲{t}的用法")]
    assert not missing, f"jieba cuts these terms into pieces: {missing}"
    # and without the dictionary it does not (the reason for the file)
    plain = jieba.Tokenizer()
    assert "梯度下降" not in plain.cut_for_search("本章讲梯度下降的用法")
