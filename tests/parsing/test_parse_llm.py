"""LLM parsers: a tiny random local chat model and a real local HTTP server, offline."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch

from machcreator.core.errors import ModelLoadError
from machcreator.parsing import get_parser
from machcreator.parsing.llm import OpenAICompatibleParser, TransformersChatParser, extract_json, system_prompt

PROMPT = "an old fisherman with a grey beard and a wool cap"
VALID = {"body": {"gender": "female", "age_years": 33}, "hair": {"color": "blonde"}, "glasses": "round"}
CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


@pytest.fixture(scope="module")
def tiny_chat_model(tmp_path_factory):
    """A random 2-layer Llama (hidden 16) and a BPE tokenizer trained here, saved to a folder."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600, special_tokens=["<unk>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    bpe.train_from_iterator([system_prompt(), PROMPT, json.dumps(VALID)] * 3, trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, unk_token="<unk>", bos_token="<s>", eos_token="</s>")
    tok.chat_template = CHAT_TEMPLATE
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tok), hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=2, max_position_embeddings=8192, bos_token_id=1, eos_token_id=2,
    )
    folder = tmp_path_factory.mktemp("tiny_llama")
    LlamaForCausalLM(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def chat_parser(tiny_chat_model):
    return TransformersChatParser(tiny_chat_model, max_new_tokens=8)


def test_extract_json_tolerates_fences_and_prose():
    assert extract_json('Sure!\n```json\n{"glasses": "none"}\n```') == {"glasses": "none"}
    assert extract_json('here: {"a": {"b": 1}} done') == {"a": {"b": 1}}
    with pytest.raises(ValueError, match="no JSON"):
        extract_json("I cannot help with that")


def test_missing_model_dir_is_a_load_error(tmp_path):
    with pytest.raises(ModelLoadError, match="no chat model"):
        get_parser("transformers", model_dir=tmp_path / "nowhere")


def test_unloadable_model_dir_is_a_load_error(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match="cannot load"):
        TransformersChatParser(tmp_path)


def test_garbage_generation_falls_back_to_embedded(chat_parser):
    result = chat_parser.parse(PROMPT)
    assert result.parser == "embedded"
    assert "transformers parser failed" in result.warnings[0]
    a = result.attributes
    assert (a.body.gender, a.facial_hair.color, a.headwear) == ("male", "grey", "wool_cap")


def test_valid_generation_is_validated_and_used(chat_parser, monkeypatch):
    reply = chat_parser.tokenizer.encode("```json\n" + json.dumps(VALID) + "\n```", return_tensors="pt")

    def generate(input_ids, **kwargs):
        return torch.cat([input_ids, reply], dim=1)

    monkeypatch.setattr(chat_parser.model, "generate", generate)
    result = chat_parser.parse(PROMPT)
    assert result.parser == "transformers" and result.warnings == []
    assert result.attributes.specified() == {
        "body.gender": "female", "body.age_years": 33.0, "hair.color": "blonde", "glasses": "round",
    }


def test_schema_violation_falls_back(chat_parser, monkeypatch):
    reply = chat_parser.tokenizer.encode('{"glasses": "monocle"}', return_tensors="pt")
    monkeypatch.setattr(chat_parser.model, "generate", lambda input_ids, **kw: torch.cat([input_ids, reply], 1))
    result = chat_parser.parse(PROMPT)
    assert result.parser == "embedded"
    assert "schema" in result.warnings[0] and "glasses" in result.warnings[0]


# --- OpenAI-compatible HTTP -------------------------------------------------------------------

class _Handler(BaseHTTPRequestHandler):
    """/ok, /badjson, /err500, /slow, /noschema: the reply is chosen by the URL's first part."""

    requests: list[dict] = []

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Handler.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
        mode = self.path.split("/")[1]
        if mode == "err500" or (mode == "noschema" and "response_format" in body):
            self.send_response(500 if mode == "err500" else 400)
            self.end_headers()
            return
        if mode == "slow":
            time.sleep(1.5)
        content = "{not json at all" if mode == "badjson" else json.dumps(VALID)
        data = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client timed out first (the /slow case)
            pass


@pytest.fixture(scope="module")
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.daemon_threads = True
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_http_valid_completion(server):
    parser = get_parser("openai", base_url=f"{server}/ok/v1", model="tiny", api_key="k", timeout=5)
    result = parser.parse(PROMPT)
    assert result.parser == "openai" and result.warnings == []
    assert result.attributes.hair.color == "blonde"
    sent = _Handler.requests[-1]
    assert sent["path"] == "/ok/v1/chat/completions" and sent["auth"] == "Bearer k"
    assert sent["body"]["response_format"]["type"] == "json_schema"
    assert sent["body"]["messages"][1] == {"role": "user", "content": PROMPT}


def test_http_invalid_json_falls_back(server):
    result = OpenAICompatibleParser(f"{server}/badjson", "tiny", timeout=5).parse(PROMPT)
    assert result.parser == "embedded" and "not valid JSON" in result.warnings[0]
    assert result.attributes.headwear == "wool_cap"


def test_http_500_falls_back(server):
    result = OpenAICompatibleParser(f"{server}/err500", "tiny", timeout=5).parse(PROMPT)
    assert result.parser == "embedded" and "HTTP 500" in result.warnings[0]
    assert result.attributes.facial_hair.color == "grey"


def test_http_timeout_falls_back(server):
    start = time.perf_counter()
    result = OpenAICompatibleParser(f"{server}/slow", "tiny", timeout=0.3).parse(PROMPT)
    assert time.perf_counter() - start < 1.4
    assert result.parser == "embedded"
    assert "within 0.3 s" in result.warnings[0] or "timed out" in result.warnings[0]


def test_http_server_without_response_format_is_asked_again(server):
    parser = OpenAICompatibleParser(f"{server}/noschema", "tiny", timeout=5)
    assert parser.parse(PROMPT).attributes.glasses == "round"
    assert "response_format" not in _Handler.requests[-1]["body"]
    assert parser.parse(PROMPT).parser == "openai"


def test_bad_url_is_a_load_error():
    with pytest.raises(ModelLoadError, match="http"):
        get_parser("openai", base_url="ftp://x", model="m")
