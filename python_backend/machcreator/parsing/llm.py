"""LLM attribute parsers (Mach §2.1: "we use an LLM to extract the facial attributes").

Two optional back-ends, both asked for JSON that matches ``Attributes.model_json_schema()``:
- :class:`TransformersChatParser`: a local chat model folder (``AutoModelForCausalLM``), offline.
- :class:`OpenAICompatibleParser`: any ``/chat/completions`` endpoint (llama.cpp, vLLM, Ollama...),
  with the standard library's urllib.

Failure policy (decided here, relied on by the pipeline):
- *Misconfiguration* raises :class:`~machcreator.core.errors.ModelLoadError` when the parser is built:
  a missing or unloadable model folder, a base URL that is not http(s). The user must fix it.
- *Runtime output* never fails a generation: an HTTP error, a timeout, a refused connection,
  a generation error, a reply that is not JSON or breaks the schema all fall back to the
  :class:`~machcreator.parsing.embedded.EmbeddedParser`, with a warning naming why.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from machcreator.attributes import Attributes
from machcreator.core.errors import ModelLoadError
from machcreator.parsing.base import ParseResult
from machcreator.parsing.embedded import EmbeddedParser


def system_prompt() -> str:
    """Instructions plus the Attributes JSON schema (compact)."""
    schema = json.dumps(Attributes.model_json_schema(), separators=(",", ":"))
    return (
        "You extract character attributes from a description. Reply with one JSON object that "
        "matches this JSON schema. Include only what the description states or clearly implies; "
        "omit everything else (do not guess). Levels are -1..1, amounts 0..1, ages in years, "
        "skin tone as ITA degrees. No prose, no code fences.\nSchema: " + schema
    )


def extract_json(reply: str) -> dict[str, Any]:
    """The JSON object in an LLM reply, tolerating code fences and prose around it.

    Raises:
        ValueError: no JSON object could be decoded.
    """
    text = reply.strip()
    if "```" in text:  # ```json\n{...}\n``` -> the fenced body
        parts = text.split("```")
        text = max(parts[1::2], key=len, default=text)
        text = text.removeprefix("json").removeprefix("JSON").strip()
    start = text.find("{")
    if start < 0:
        raise ValueError("the reply contains no JSON object")
    try:
        obj, _ = json.JSONDecoder().raw_decode(text[start:])
    except json.JSONDecodeError as exc:
        raise ValueError(f"the reply is not valid JSON ({exc.msg} at char {exc.pos})") from None
    if not isinstance(obj, dict):
        raise ValueError("the reply's JSON is not an object")
    return obj


def _validated(obj: dict[str, Any]) -> Attributes:
    try:
        return Attributes.model_validate(obj)
    except ValidationError as exc:
        e = exc.errors()[0]
        where = ".".join(str(p) for p in e["loc"]) or "(root)"
        raise ValueError(f"the reply does not match the attribute schema: {where}: {e['msg']}") from None


class _LLMParser:
    """Shared: ask for JSON, validate it, fall back to the embedded parser on any failure."""

    name = "llm"

    def __init__(self) -> None:
        self._fallback = EmbeddedParser()

    def _complete(self, prompt: str) -> str:
        raise NotImplementedError

    def parse(self, prompt: str) -> ParseResult:
        """Prompt -> attributes from the LLM, or the embedded parser's with a warning."""
        try:
            attrs = _validated(extract_json(self._complete(prompt)))
        except (ValueError, OSError, RuntimeError, IndexError) as exc:  # runtime output: fall back
            result = self._fallback.parse(prompt)
            result.warnings.insert(0, f"{self.name} parser failed ({exc}); used the embedded parser")
            return result
        matches = [("(llm)", path, value) for path, value in attrs.specified().items()]
        return ParseResult(attributes=attrs, matches=matches, parser=self.name)


class TransformersChatParser(_LLMParser):
    """A local chat model (any ``AutoModelForCausalLM`` with a chat template), offline.

    Args:
        model_dir: folder with ``config.json``, weights and a tokenizer with a chat template.
        max_new_tokens: generation budget for the JSON reply.

    Raises:
        ModelLoadError: the folder is missing or the model/tokenizer cannot be loaded from it.
    """

    name = "transformers"

    def __init__(self, model_dir: str | Path, max_new_tokens: int = 512) -> None:
        super().__init__()
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.model_dir = Path(model_dir).expanduser()
        if not (self.model_dir / "config.json").is_file():
            raise ModelLoadError(f"no chat model in {self.model_dir} (expected config.json and weights there)")
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.model_dir, local_files_only=True)
            self.model = AutoModelForCausalLM.from_pretrained(self.model_dir, local_files_only=True).eval()
        except (OSError, ValueError, KeyError) as exc:
            raise ModelLoadError(f"cannot load the chat model in {self.model_dir}: {exc}") from None
        if not getattr(self.tokenizer, "chat_template", None):
            raise ModelLoadError(f"the tokenizer in {self.model_dir} has no chat template")
        self.max_new_tokens = max_new_tokens
        self._system = system_prompt()

    def _complete(self, prompt: str) -> str:
        import torch

        messages = [{"role": "system", "content": self._system}, {"role": "user", "content": prompt}]
        ids = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )["input_ids"]
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=self.max_new_tokens,
                do_sample=False, pad_token_id=pad,
            )
        return self.tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)


class OpenAICompatibleParser(_LLMParser):
    """An OpenAI-compatible ``POST {base_url}/chat/completions`` endpoint, via urllib.

    Asks for ``response_format`` = json_schema; a server that rejects it with HTTP 400 is asked
    again without it, and not asked with it again.

    Args:
        base_url: e.g. ``http://127.0.0.1:8000/v1``.
        model: the model name the server expects.
        api_key: sent as ``Authorization: Bearer`` when given.
        timeout: seconds per request.

    Raises:
        ModelLoadError: ``base_url`` is not an http(s) URL.
    """

    name = "openai"

    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout: float = 30.0) -> None:
        super().__init__()
        if not base_url.startswith(("http://", "https://")):
            raise ModelLoadError(f"the LLM URL must start with http:// or https://, got {base_url!r}")
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model, self.api_key, self.timeout = model, api_key, float(timeout)
        self._use_schema = True
        self._system = system_prompt()

    def _request(self, prompt: str, with_schema: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model, "temperature": 0,
            "messages": [{"role": "system", "content": self._system}, {"role": "user", "content": prompt}],
        }
        if with_schema:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "attributes", "schema": Attributes.model_json_schema()},
            }
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(self.url, data=json.dumps(body).encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            raise OSError(f"HTTP {exc.code} from {self.url}") from None
        except (TimeoutError, socket.timeout):
            raise OSError(f"no reply from {self.url} within {self.timeout:g} s") from None
        except urllib.error.URLError as exc:
            reason = "timed out" if isinstance(exc.reason, (TimeoutError, socket.timeout)) else exc.reason
            raise OSError(f"cannot reach {self.url}: {reason}") from None
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ValueError(f"{self.url} did not answer with JSON") from None

    def _complete(self, prompt: str) -> str:
        try:
            reply = self._request(prompt, self._use_schema)
        except OSError as exc:
            if not (self._use_schema and str(exc).startswith("HTTP 400")):
                raise
            self._use_schema = False  # the server does not support response_format
            reply = self._request(prompt, False)
        try:
            content = reply["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise ValueError("the reply has no choices[0].message.content") from None
        if not isinstance(content, str):
            raise ValueError("the reply's message content is not text")
        return content
