"""GPU check for the trainer: ColossalAI plugins x attention implementations on a 1B-shape LLaMA, random data.

Configs: plugins zero2, gemini and 3d (tp=1, ZeRO-1), each with HybridAdam and HF attention flash_attention_2 /
sdpa / eager; gemini and 3d also with the plugin's own `enable_flash_attention` (Shardformer ColoAttention); and
a plain-PyTorch baseline (no booster, fused torch AdamW) with sdpa and eager. Each config builds the model, runs
warm-up steps, then times `--steps` optimizer steps and prints tokens/s, MFU and peak memory. Every config runs in
try/except (failures are printed and recorded), configs are skipped once the time budget would be exceeded, and
the last line is one JSON summary (`SUMMARY {...}`). No downloads: the model is random, the data torch.randint.

    .venv-train/bin/python bench/train_gpu_check.py [--batch 2] [--seq 2048] [--steps 5] [--budget 450]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import socket
import sys
import time
import traceback

SHAPE = {"hidden_size": 2048, "intermediate_size": 5632, "num_hidden_layers": 22, "num_attention_heads": 32,
         "num_key_value_heads": 4, "vocab_size": 32000}  # TinyLlama-1.1B
PEAK_BF16 = {"H100": 989.4e12, "H200": 989.4e12, "H800": 989.4e12, "A100": 312e12, "A800": 312e12}


class Skip(Exception):
    pass


def single_process_env() -> None:
    if "RANK" in os.environ:
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    os.environ.update({"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1",
                       "MASTER_PORT": str(port)})


def flash_attn_available() -> bool:
    try:
        import flash_attn  # noqa: F401
    except Exception:
        return False
    return True


def peak_flops(name: str) -> float | None:
    return next((v for k, v in PEAK_BF16.items() if k in name), None)


def build_plugin(plugin: str, colo_flash: bool):
    from colossalai.booster.plugin import GeminiPlugin, HybridParallelPlugin, LowLevelZeroPlugin

    if plugin == "zero2":
        return LowLevelZeroPlugin(stage=2, precision="bf16", initial_scale=2**16, max_norm=1.0)
    if plugin == "gemini":
        return GeminiPlugin(precision="bf16", initial_scale=2**16, max_norm=1.0, enable_flash_attention=colo_flash)
    return HybridParallelPlugin(tp_size=1, pp_size=1, zero_stage=1, precision="bf16", initial_scale=2**16,
                                max_norm=1.0, enable_flash_attention=colo_flash, enable_fused_normalization=False)


def run_config(plugin: str, attn: str, opts) -> dict:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    colo_flash = attn == "colo_flash"
    hf_attn = "eager" if colo_flash else attn
    if attn == "flash_attention_2" and not flash_attn_available():
        raise Skip("flash_attn is not installed")
    config = LlamaConfig(max_position_embeddings=max(4096, opts.seq), tie_word_embeddings=False, **SHAPE)
    torch.manual_seed(0)
    torch.cuda.reset_peak_memory_stats()
    with torch.device("cuda"):
        model = LlamaForCausalLM._from_config(config, torch_dtype=torch.bfloat16, attn_implementation=hf_attn)
    model.train()
    params = sum(p.numel() for p in model.parameters())
    optimizer_name = "HybridAdam"
    if plugin == "torch":
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1,
                                      fused=True)
        optimizer_name, booster = "torch.AdamW(fused)", None
    else:
        from colossalai.booster import Booster
        from colossalai.nn.optimizer import HybridAdam

        optimizer = HybridAdam(model.parameters(), lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
        booster = Booster(plugin=build_plugin(plugin, colo_flash))
        model, optimizer, *_ = booster.boost(model, optimizer)
    data = torch.randint(0, SHAPE["vocab_size"], (opts.batch, opts.seq), device="cuda")
    timings = []
    losses = []
    for step in range(opts.warmup + opts.steps):
        torch.cuda.synchronize()
        start = time.perf_counter()
        loss = model(input_ids=data, labels=data).loss
        if booster is None:
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        else:
            booster.backward(loss, optimizer)
        optimizer.step()
        optimizer.zero_grad()
        torch.cuda.synchronize()
        if step >= opts.warmup:
            timings.append(time.perf_counter() - start)
        losses.append(round(float(loss.detach()), 4))
    tokens_per_s = opts.batch * opts.seq * len(timings) / sum(timings)
    flops_per_token = 6 * params + 12 * SHAPE["num_hidden_layers"] * SHAPE["hidden_size"] * opts.seq
    peak = peak_flops(torch.cuda.get_device_name())
    result = {"params": params, "optimizer": optimizer_name, "tokens_per_s": round(tokens_per_s, 1),
              "step_s": round(sum(timings) / len(timings), 4), "mfu": round(flops_per_token * tokens_per_s / peak, 4)
              if peak else None, "peak_mem_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2),
              "losses": losses}
    del model, optimizer, booster, loss
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--seq", type=int, default=2048)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--budget", type=float, default=450.0, help="seconds; later configs are skipped")
    parser.add_argument("--only", default="", help="comma-separated plugin:attn configs to run")
    opts = parser.parse_args()
    began = time.perf_counter()
    summary: dict = {"shape": SHAPE, "batch": opts.batch, "seq": opts.seq, "configs": []}
    try:
        import torch

        summary.update(torch=torch.__version__, cuda=torch.cuda.is_available(), flash_attn=flash_attn_available())
        if not torch.cuda.is_available():
            raise RuntimeError("no CUDA device")
        summary["device"] = torch.cuda.get_device_name()
        import transformers

        summary["transformers"] = transformers.__version__
    except Exception as exc:
        summary["error"] = f"{type(exc).__name__}: {exc}"
        print("SUMMARY " + json.dumps(summary), flush=True)
        return 1
    try:
        import colossalai

        single_process_env()
        colossalai.launch_from_torch(seed=1024, verbose=False)
        summary["colossalai"] = colossalai.__version__
    except Exception as exc:
        summary["colossalai_error"] = f"{type(exc).__name__}: {exc}"[:500]
        traceback.print_exc()
    configs = [(p, a) for a in ("sdpa", "flash_attention_2", "eager") for p in ("zero2", "gemini", "3d")]
    configs += [("gemini", "colo_flash"), ("3d", "colo_flash"), ("torch", "sdpa"), ("torch", "flash_attention_2"),
                ("torch", "eager")]
    if opts.only:
        wanted = set(opts.only.split(","))
        configs = [c for c in configs if f"{c[0]}:{c[1]}" in wanted]
    longest = 0.0
    for plugin, attn in configs:
        entry = {"plugin": plugin, "attn": attn}
        elapsed = time.perf_counter() - began
        if elapsed + max(longest, 20.0) > opts.budget:
            entry["skipped"] = f"time budget ({elapsed:.0f}s of {opts.budget:.0f}s used)"
        elif plugin != "torch" and "colossalai" not in summary:
            entry["skipped"] = "colossalai not available"
        else:
            start = time.perf_counter()
            try:
                entry.update(run_config(plugin, attn, opts))
            except Skip as exc:
                entry["skipped"] = str(exc)
            except Exception as exc:
                entry["error"] = f"{type(exc).__name__}: {exc}"[:500]
                traceback.print_exc()
            entry["wall_s"] = round(time.perf_counter() - start, 1)
            longest = max(longest, entry["wall_s"])
            gc.collect()
            torch.cuda.empty_cache()
        print(f"{plugin:7s} {attn:18s} " + json.dumps({k: v for k, v in entry.items() if k not in ("plugin", "attn")}),
              flush=True)
        summary["configs"].append(entry)
    summary["total_s"] = round(time.perf_counter() - began, 1)
    print("SUMMARY " + json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
