"""LLM attribute parsers (Mach §2.1: "we use an LLM to extract the facial attributes").

Two optional back-ends, both asked for JSON that matches ``Attributes.model_json_schema()``:
- :class:`TransformersChatParser`: a local chat model folder (``AutoModelForCausalLM``), offline,
  with the schema enforced *during* decoding (:mod:`machcreator.parsing.schema_decoding`: every
  token that cannot continue a schema-valid reply is masked), and validated after as well.
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

    Decoding is greedy and, with ``constrained`` (the default), schema-constrained: at every step
    only the tokens that can continue a JSON object valid for :class:`~machcreator.attributes.Attributes`
    stay (known keys once each, ``null``, nesting, enum words, colour names and hair styles the
    validators accept, numbers within their bounds on a 0.01 / 0.1 grid; see
    :mod:`~machcreator.parsing.schema_decoding`), and end-of-sequence only once the object is closed. The reply is still validated after: a budget
    too small to close the object, or an enforcer that gives up (it then allows only
    end-of-sequence), falls back to the embedded parser with a warning.

    Args:
        model_dir: folder with ``config.json``, weights and a tokenizer with a chat template.
        max_new_tokens: generation budget for the JSON reply, in tokens.
        device: ``"auto"`` (CUDA when available, else CPU), ``"cuda"``, ``"cuda:1"``, ``"cpu"``...
        dtype: ``"auto"`` (float16 on CUDA, float32 on CPU), ``"float16"``, ``"bfloat16"``, ``"float32"``.
        constrained: enforce the schema during decoding; ``False`` only validates after.

    Raises:
        ModelLoadError: the folder is missing, the model/tokenizer cannot be loaded from it, or
            ``device``/``dtype`` is not one of the above.
    """

    name = "transformers"

    def __init__(
        self, model_dir: str | Path, max_new_tokens: int = 512, device: str = "auto", dtype: str = "auto",
        constrained: bool = True,
    ) -> None:
        super().__init__()
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.model_dir = Path(model_dir).expanduser()
        if not (self.model_dir / "config.json").is_file():
            raise ModelLoadError(f"no chat model in {self.model_dir} (expected config.json and weights there)")
        self.device, self.dtype = _torch_device_dtype(device, dtype)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.model_dir, local_files_only=True)
            self.model = AutoModelForCausalLM.from_pretrained(
                self.model_dir, local_files_only=True, dtype=self.dtype
            ).to(self.device).eval()
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise ModelLoadError(f"cannot load the chat model in {self.model_dir}: {exc}") from None
        if not getattr(self.tokenizer, "chat_template", None):
            raise ModelLoadError(f"the tokenizer in {self.model_dir} has no chat template")
        self.max_new_tokens = max_new_tokens
        self._system = system_prompt()
        self._eos_ids = _eos_ids(self.model, self.tokenizer)
        self.constrained = constrained
        if constrained:
            from machcreator.parsing import schema_decoding

            logits = self.model.get_output_embeddings().weight.shape[0]
            self._json_parser = schema_decoding.attribute_json_parser()
            self._tokenizer_data = schema_decoding.enforcer_tokenizer_data(self.tokenizer, logits, self._eos_ids)

    def _prompt_ids(self, prompt: str) -> Any:
        """The chat-templated (system + user) prompt as a ``(1, T)`` token id tensor on the model's device."""
        messages = [{"role": "system", "content": self._system}, {"role": "user", "content": prompt}]
        ids = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )["input_ids"]
        return ids.to(self.device)

    def allowed_tokens_fn(self) -> Any:
        """A fresh ``prefix_allowed_tokens_fn`` for one constrained ``generate`` call (see
        :func:`~machcreator.parsing.schema_decoding.allowed_tokens_fn`)."""
        from machcreator.parsing.schema_decoding import allowed_tokens_fn

        return allowed_tokens_fn(self._tokenizer_data, self._json_parser)

    def _complete(self, prompt: str) -> str:
        import torch
        from lmformatenforcer import LMFormatEnforcerException

        ids = self._prompt_ids(prompt)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self._eos_ids[0]
        constraint = self.allowed_tokens_fn() if self.constrained else None
        try:
            with torch.inference_mode():
                out = self.model.generate(
                    input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=self.max_new_tokens,
                    do_sample=False, pad_token_id=pad, eos_token_id=self._eos_ids,
                    prefix_allowed_tokens_fn=constraint,
                )
        except LMFormatEnforcerException as exc:  # the schema is ours and fixed, but say so rather than crash
            raise RuntimeError(f"the schema enforcer failed: {exc}") from None
        return self.tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)


def _torch_device_dtype(device: str, dtype: str) -> tuple[Any, Any]:
    """(``torch.device``, ``torch.dtype``) from the config's words; "auto" -> CUDA + float16 when
    CUDA is available, else CPU + float32. Raises ModelLoadError for any other word."""
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ModelLoadError(f"unknown device {device!r} for the chat model (use auto, cuda or cpu)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ModelLoadError("the chat model is set to run on cuda, but CUDA is not available here")
    names = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}
    if dtype == "auto":
        return dev, torch.float16 if dev.type == "cuda" else torch.float32
    if dtype not in names:
        raise ModelLoadError(f"unknown dtype {dtype!r} for the chat model (use auto, {', '.join(names)})")
    return dev, names[dtype]


def _eos_ids(model: Any, tokenizer: Any) -> list[int]:
    """The ids that end a reply: the model's generation config (chat models list their turn-end
    token there, e.g. Qwen's ``<|im_end|>``), else the tokenizer's eos."""
    eos = model.generation_config.eos_token_id
    if eos is None:
        eos = tokenizer.eos_token_id
    if eos is None:
        raise ModelLoadError("the chat model names no end-of-sequence token (generation_config or tokenizer)")
    return list(eos) if isinstance(eos, (list, tuple)) else [int(eos)]


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
