"""Schema-constrained decoding (Mach §2.1's LLM step): a tiny random Qwen2 chat model, built and
saved here, loaded back through TransformersChatParser, offline.

A random model writes garbage unconstrained; constrained, the same weights write a reply that
parses and validates as Attributes, every token of it one the enforcer allowed.
"""

import json

import pytest
import torch

from machcreator.attributes import Attributes, editor_fields
from machcreator.core.errors import ModelLoadError
from machcreator.parsing.llm import TransformersChatParser, extract_json, system_prompt
from machcreator.parsing.schema_decoding import attribute_json_parser, decoding_schema, number_grid

PROMPT = "an old fisherman with a grey beard and a wool cap"
EXAMPLES = [
    {"body": {"gender": "male", "age_years": 70}, "facial_hair": {"type": "full_beard", "color": "grey"}},
    {"body": {"gender": "female", "age_years": 33.5, "height": -0.25}, "hair": {"color": "blonde", "curl": 0.8}},
]
CHAT_TEMPLATE = (  # Qwen's ChatML layout
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
MODEL_SEED = 4  # random weights whose constrained reply closes in 37 tokens (other seeds: 40 to 400+)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A random Qwen2 (hidden 32, 2 layers) and a byte-level BPE (500 tokens) trained here on the
    system prompt and a few replies, so JSON punctuation, keys and words are multi-character tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=500, special_tokens=["<unk>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    bpe.train_from_iterator([system_prompt()] + [json.dumps(e) for e in EXAMPLES] * 5, trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, unk_token="<unk>", eos_token="<|im_end|>")
    tok.chat_template = CHAT_TEMPLATE
    torch.manual_seed(MODEL_SEED)
    config = Qwen2Config(
        vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=8192, eos_token_id=tok.eos_token_id,
        tie_word_embeddings=False,
    )
    folder = tmp_path_factory.mktemp("tiny_qwen2")
    Qwen2ForCausalLM(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def constrained_run(model_dir):
    """(parser, parse result, prompt ids ``(P,)``, output ids ``(P + R,)``) of one constrained parse."""
    parser = TransformersChatParser(model_dir, max_new_tokens=300)
    calls, generate = [], parser.model.generate

    def spy(**kwargs):  # the real generate, recorded
        out = generate(**kwargs)
        calls.append((kwargs["input_ids"][0], out[0]))
        return out

    parser.model.generate = spy
    result = parser.parse(PROMPT)
    (prompt, out), = calls
    return parser, result, prompt, out


def test_unconstrained_random_model_writes_no_json(model_dir, constrained_run):
    parser, _, prompt, out = constrained_run
    free = TransformersChatParser(model_dir, max_new_tokens=40, constrained=False)._complete(PROMPT)
    with pytest.raises(ValueError, match="JSON"):
        extract_json(free)
    assert not free.startswith(parser.tokenizer.decode(out[len(prompt):][:10]))  # the same weights, other text


def test_constrained_reply_validates(constrained_run):
    parser, result, prompt, out = constrained_run
    assert result.parser == "transformers" and result.warnings == []
    assert result.attributes.specified(), "the reply should state something, not just {}"
    reply = out[len(prompt):]
    assert int(reply[-1]) in parser._eos_ids  # it closed the object and stopped, not cut off by the budget
    Attributes.model_validate(json.loads(parser.tokenizer.decode(reply, skip_special_tokens=True)))


def test_every_generated_token_was_allowed(constrained_run):
    """Replay: each generated token is among those the enforcer allows after its prefix, and the
    mask really restricts (down to one token where the schema leaves one choice)."""
    parser, _, prompt, out = constrained_run
    allowed = parser.allowed_tokens_fn()
    sizes = []
    for step in range(len(prompt), len(out)):
        permitted = allowed(0, out[:step])
        assert int(out[step]) in permitted, f"token {int(out[step])} at step {step - len(prompt)} was not allowed"
        sizes.append(len(permitted))
    assert min(sizes) == 1 and sum(sizes) / len(sizes) < len(parser.tokenizer) / 2


def test_budget_too_small_to_close_falls_back_with_a_warning(model_dir):
    parser = TransformersChatParser(model_dir, max_new_tokens=18)  # the reply needs 25 to close its object
    result = parser.parse(PROMPT)
    assert result.parser == "embedded"
    assert result.warnings[0].startswith("transformers parser failed (the reply is not valid JSON")
    assert (result.attributes.facial_hair.color, result.attributes.headwear) == ("grey", "wool_cap")


def _feed(text: str):
    """The decoder's character parser after ``text``; AssertionError at the first refused character."""
    parser = attribute_json_parser()
    for i, ch in enumerate(text):
        assert ch in parser.get_allowed_characters(), f"{ch!r} refused after {text[:i]!r}"
        parser = parser.add_character(ch)
    return parser


def test_character_parser_enforces_bounds_words_and_json():
    assert _feed('{"body": {"age_years": 33.5, "height": -0.25}, "hair": {"color": "blonde"}}').can_end()
    assert set(_feed('{"face": {"chin": -').get_allowed_characters()) - set(" \t\n") == {"0", "1"}
    assert "." not in _feed('{"face": {"chin": 1').get_allowed_characters()  # 1 is the maximum
    assert not set("0123456789.") & set(_feed('{"body": {"age_years": 95').get_allowed_characters())
    with pytest.raises(AssertionError, match="refused"):
        _feed('{"hair": {"color": "teal"')  # a garment colour, not a hair colour
    with pytest.raises(AssertionError, match="refused"):
        _feed('{"glasses": "round",}')  # the library alone would allow this trailing comma
    with pytest.raises(AssertionError, match="refused"):
        _feed('{"accessories": ["watch", ]')
    with pytest.raises(AssertionError, match="refused"):
        _feed('{"glasses": "round", "glasses"')  # a key once


def test_decoding_schema_leaves_no_free_strings_or_unbounded_numbers():
    def leaves(node):
        if isinstance(node, dict):
            yield node
            for value in node.values():
                yield from leaves(value)
        elif isinstance(node, list):
            for value in node:
                yield from leaves(value)

    schema = decoding_schema()
    for node in leaves(schema):
        if node.get("type") in ("string", "number", "integer"):
            assert "enum" in node and "minimum" not in node, node
    colours = {f["path"]: f["values"] for f in editor_fields() if f["kind"] == "color"}
    assert schema["$defs"]["Hair"]["properties"]["color"]["anyOf"][0]["enum"] == colours["hair.color"]
    assert number_grid(-1, 1)[:3] == [-1, -0.99, -0.98] and len(number_grid(-1, 1)) == 201
    assert number_grid(1, 95)[-2:] == [94.9, 95] and number_grid(0, 1)[50] == 0.5


def test_device_and_dtype_words(model_dir):
    with pytest.raises(ModelLoadError, match="dtype 'int8'"):
        TransformersChatParser(model_dir, dtype="int8")
    if not torch.cuda.is_available():
        with pytest.raises(ModelLoadError, match="CUDA is not available"):
            TransformersChatParser(model_dir, device="cuda")
    parser = TransformersChatParser(model_dir, device="cpu", dtype="bfloat16", constrained=False)
    assert parser.model.dtype == torch.bfloat16 and parser.device.type == "cpu"
