"""Choose the Hugging Face attention implementation, independent of the booster plugin (spec pitfall 5).

auto: FlashAttention-2 when `flash_attn` imports on CUDA with a half-precision dtype, else PyTorch SDPA (which uses
its own flash kernel on supported GPUs). The choice and its reason are logged and stored with each checkpoint.
"""

from __future__ import annotations


def flash_attn_available() -> bool:
    try:
        import flash_attn  # noqa: F401
    except Exception:  # an installed but broken build raises ImportError or OSError
        return False
    return True


def choose_attention(requested: str, cuda: bool, half_precision: bool) -> tuple[str, str]:
    """Return (attn_implementation, reason); an impossible explicit request is a ValueError."""
    if requested == "flash_attention_2":
        if not (cuda and half_precision):
            raise ValueError("--attn flash_attention_2 needs CUDA and bf16/fp16")
        if not flash_attn_available():
            raise ValueError("--attn flash_attention_2 needs the flash_attn package (pip install flash-attn)")
        return requested, "requested"
    if requested in ("sdpa", "eager"):
        return requested, "requested"
    if not cuda:
        return "sdpa", "auto: no CUDA"
    if not half_precision:
        return "sdpa", "auto: fp32"
    if flash_attn_available():
        return "flash_attention_2", "auto: flash_attn imports on CUDA"
    return "sdpa", "auto: flash_attn not installed"
