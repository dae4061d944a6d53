"""Token accounting: known windows, the estimate that errs high, tiktoken only when cached."""

import hashlib
import types
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import agent._tokens as tokens
from agent._tokens import (
    DEFAULT_WINDOW,
    EstimateCounter,
    count_messages,
    count_tools,
    counter_for,
    window_for,
)

ENGLISH = (
    "The quick brown fox jumps over the lazy dog. Yesterday I went to the market and bought "
    "apples, pears and a loaf of bread; then I walked home along the river, thinking about "
    "what to cook for dinner with my friends on Saturday evening."
)
O200K_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"


# -- window sizes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "window"),
    [
        ("openai/gpt-4o-mini", 128_000),
        ("openai/gpt-4o", 128_000),
        ("gpt-4o-2024-08-06", 128_000),
        ("openai/gpt-4.1", 1_047_576),
        ("openai/gpt-4.1-mini", 1_047_576),
        ("openai/gpt-4-turbo", 128_000),
        ("openai/gpt-4", 8_192),
        ("openai/gpt-3.5-turbo", 16_385),
        ("openai/gpt-5-mini", 400_000),
        ("openai/o3-mini", 200_000),
        ("openai/o4-mini", 200_000),
        ("openai/o1", 200_000),
    ],
)
def test_known_models_have_their_window(model: str, window: int) -> None:
    assert window_for(model) == (window, True)


@pytest.mark.parametrize("model", ["mystery/model-7b", "llama3", "anthropic/claude-x"])
def test_unknown_models_get_a_small_default_and_say_so(model: str) -> None:
    assert window_for(model) == (DEFAULT_WINDOW, False)
    assert DEFAULT_WINDOW == 8_192


# -- the estimate ------------------------------------------------------------------------


def test_the_estimate_errs_high_on_english() -> None:
    counter = EstimateCounter()
    assert counter.name == "estimate"
    # English is about 4 characters a token with OpenAI's tokenizers
    assert counter.count(ENGLISH) >= len(ENGLISH) / 4
    assert counter.count("") == 0


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126)))
def test_the_estimate_of_any_ascii_text_is_at_least_a_token_per_four_chars(text: str) -> None:
    assert EstimateCounter().count(text) >= len(text) / 4


@pytest.mark.parametrize("text", ["日本語のテキストです", "Привет, как дела", "😀😀😀", "ελληνικά"])
def test_non_ascii_text_counts_about_a_token_per_character(text: str) -> None:
    wide = sum(1 for ch in text if ord(ch) > 127)
    count = EstimateCounter().count(text)
    assert wide <= count <= len(text)
    if wide == len(text):
        assert count == len(text)


@settings(max_examples=100, deadline=None)
@given(st.text(), st.text())
def test_the_estimate_never_shrinks_when_text_grows(a: str, b: str) -> None:
    counter = EstimateCounter()
    assert counter.count(a + b) >= max(counter.count(a), counter.count(b))


def test_messages_count_their_overhead_content_and_tool_calls() -> None:
    counter = EstimateCounter()
    plain = [{"role": "user", "content": "hello there"}]
    assert count_messages(counter, plain) == 4 + counter.count("hello there")
    called = [
        {
            "role": "assistant",
            "content": None,  # content may be null; it counts as empty
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "send_message", "arguments": '{"message": "hi"}'},
                }
            ],
        }
    ]
    assert count_messages(counter, called) == 4 + counter.count('send_message{"message": "hi"}')
    assert count_messages(counter, plain + called) == count_messages(
        counter, plain
    ) + count_messages(counter, called)


def test_tools_count_as_compact_json() -> None:
    schema: dict[str, Any] = {
        "type": "function",
        "function": {"name": "f", "parameters": {"type": "object", "properties": {}}},
    }
    text = (
        '{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{}}}}'
    )
    assert count_tools(EstimateCounter(), [schema]) == EstimateCounter().count(text)
    assert count_tools(EstimateCounter(), [schema, schema]) == 2 * count_tools(
        EstimateCounter(), [schema]
    )


# -- tiktoken, only when installed and its encoding is on disk -------------------------


class FakeEncoding:
    def __init__(self, name: str) -> None:
        self.name = name
        self.calls: list[tuple[str, Any]] = []

    def encode(self, text: str, disallowed_special: Any = "all") -> list[int]:
        self.calls.append((text, disallowed_special))
        return [0] * len(text.split())


class FakeTiktoken:
    """Stands in for the tiktoken module; records which encodings were asked for."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.encodings: list[FakeEncoding] = []
        self.module = types.SimpleNamespace(get_encoding=self.get_encoding)

    def get_encoding(self, name: str) -> FakeEncoding:
        self.asked.append(name)
        self.encodings.append(FakeEncoding(name))
        return self.encodings[-1]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty tiktoken cache directory."""
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("DATA_GYM_CACHE_DIR", raising=False)
    return tmp_path


def cached(cache: Path, url: str) -> None:
    """Put an encoding file where tiktoken caches it (named by the SHA-1 of its URL)."""
    (cache / hashlib.sha1(url.encode()).hexdigest()).write_text("")


def test_without_tiktoken_the_counter_is_the_estimate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "tiktoken", None)
    assert isinstance(counter_for("openai/gpt-4o-mini"), EstimateCounter)
    assert counter_for("mystery/model").name == "estimate"


def test_tiktoken_is_not_installed_here() -> None:
    # the suite runs without the optional extra: the default counter is the estimate
    assert tokens.tiktoken is None
    assert counter_for("openai/gpt-4o-mini").name == "estimate"


def test_tiktoken_without_its_encoding_on_disk_is_not_used(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeTiktoken()
    monkeypatch.setattr(tokens, "tiktoken", fake.module)
    assert isinstance(counter_for("openai/gpt-4o-mini"), EstimateCounter)
    cached(cache, CL100K_URL)  # another encoding's file does not help
    assert isinstance(counter_for("openai/gpt-4o-mini"), EstimateCounter)
    assert fake.asked == []  # get_encoding would download: never called


def test_tiktoken_with_its_encoding_on_disk_counts_exactly(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeTiktoken()
    monkeypatch.setattr(tokens, "tiktoken", fake.module)
    cached(cache, O200K_URL)
    counter = counter_for("openai/gpt-4o-mini")
    assert counter.name == "tiktoken/o200k_base"
    assert fake.asked == ["o200k_base"]
    assert counter.count("three little words") == 3
    # special tokens in user text are counted as text, not refused
    assert counter.count("<|endoftext|> is text") == 3
    assert [special for _, special in fake.encodings[0].calls] == [(), ()]


@pytest.mark.parametrize(
    ("model", "encoding", "url"),
    [
        ("openai/gpt-4.1", "o200k_base", O200K_URL),
        ("openai/o3-mini", "o200k_base", O200K_URL),
        ("openai/gpt-5", "o200k_base", O200K_URL),
        ("openai/gpt-4", "cl100k_base", CL100K_URL),
        ("openai/gpt-3.5-turbo", "cl100k_base", CL100K_URL),
    ],
)
def test_each_model_uses_its_own_encoding(
    cache: Path, monkeypatch: pytest.MonkeyPatch, model: str, encoding: str, url: str
) -> None:
    fake = FakeTiktoken()
    monkeypatch.setattr(tokens, "tiktoken", fake.module)
    cached(cache, url)
    assert counter_for(model).name == f"tiktoken/{encoding}"
    assert fake.asked == [encoding]
