"""GPU check for the trainer: ColossalAI plugins x attention implementations on a 1B-shape LLaMA, random data.

Configs: plugins zero2, gemini and 3d (tp=1, ZeRO-1), each with HybridAdam and HF attention flash_attention_2 /
sdpa / eager; 3d also with the plugin's own `enable_flash_attention` (Shardformer ColoAttention; GeminiPlugin only
uses Shardformer when tp_size > 1, so a gemini colo_flash row would be plain eager and is not run); and a plain-PyTorch
baseline (no booster, fused torch AdamW) with sdpa, flash_attention_2 and eager. Each config builds the model, runs
warm-up steps, then times `--steps` optimizer steps and prints tokens/s, MFU and peak memory.

Before the configs, the ColossalAI kernels that HybridAdam JIT-builds on first use (cpu_adam_x86: g++; fused_optim_cuda:
nvcc; both with ninja, into ~/.cache/colossalai/torch_extensions/) are built once and reported on a `KERNELS {...}`
line. With `--optimizer auto` (default) a failed build makes zero2/3d fall back to fused torch AdamW (recorded per row;
gemini accepts only ColossalAI's Adam classes and is skipped). Every config runs in try/except: a failure records the
stage (model, optimizer, boost, step), the error and where it was raised; once a plugin fails in `boost` its further
configs are skipped with that reason. Configs are skipped once the time budget would be exceeded; the last line is one
JSON summary (`SUMMARY {...}`). No downloads: the model is random, the data torch.randint.

    python3 bench/train_gpu_check.py [--plugins torch,zero2,gemini,3d] [--only zero2:sdpa,...] [--batch 2]
        [--seq 2048] [--steps 5] [--budget 450] [--optimizer auto|hybrid|torch]
    python3 bench/train_gpu_check.py --device cpu --shape tiny --seq 64   # the CPU rehearsal of every code path

On the lent GPU machine colossalai travels as wheels (scripts/build_device_train_bundle.sh; the command is in
docs/colossalai_on_device.md; the device command is scripts/device/train_check.sh); elsewhere `.venv-train/bin/python bench/train_gpu_check.py`.
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

SHAPES = {
    "1b": {"hidden_size": 2048, "intermediate_size": 5632, "num_hidden_layers": 22, "num_attention_heads": 32,
           "num_key_value_heads": 4, "vocab_size": 32000},  # TinyLlama-1.1B
    "tiny": {"hidden_size": 64, "intermediate_size": 172, "num_hidden_layers": 2, "num_attention_heads": 4,
             "num_key_value_heads": 2, "vocab_size": 512},  # the CPU rehearsal (--device cpu)
}
PEAK_BF16 = {"H100": 989.4e12, "H200": 989.4e12, "H800": 989.4e12, "A100": 312e12, "A800": 312e12}
PLUGINS = ("torch", "zero2", "gemini", "3d")
# Cheapest informative rows first: the same-machine baseline, then each plugin once, then the other attentions.
CONFIGS = [("torch", "sdpa"), ("zero2", "sdpa"), ("gemini", "sdpa"), ("3d", "sdpa"), ("3d", "colo_flash"),
           ("zero2", "flash_attention_2"), ("gemini", "flash_attention_2"), ("3d", "flash_attention_2"),
           ("torch", "flash_attention_2"), ("zero2", "eager"), ("gemini", "eager"), ("3d", "eager"),
           ("torch", "eager")]
KERNELS = ("cpu_adam_x86", "fused_optim_cuda")  # what HybridAdam's constructor loads (CPUAdamLoader, FusedOptimizer)


class Skip(Exception):
    pass


class StageError(Exception):
    def __init__(self, stage: str, cause: BaseException):
        super().__init__(f"{stage}: {type(cause).__name__}: {cause}")
        self.stage, self.cause = stage, cause


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


def short_error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


def raised_at(exc: BaseException) -> str:
    """file:line of the innermost frames, shortest path form (site-packages/, /tmp/site/ stripped)."""
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    return " <- ".join(f"{f.filename.split('site-packages/')[-1].split('/tmp/site/')[-1]}:{f.lineno}"
                       for f in reversed(frames))


def build_kernels() -> dict:
    """Load (JIT-building on first use) the ColossalAI kernels HybridAdam needs; {name: {ok, s, error?, at?}}."""
    from colossalai.kernel.kernel_loader import CPUAdamLoader, FusedOptimizerLoader

    report = {}
    for name, loader in zip(KERNELS, (CPUAdamLoader, FusedOptimizerLoader), strict=True):
        start = time.perf_counter()
        try:
            loader().load()
            report[name] = {"ok": True}
        except BaseException as exc:  # a failed compile raises RuntimeError, a missing toolkit AssertionError
            if isinstance(exc, KeyboardInterrupt):
                raise
            report[name] = {"ok": False, "error": short_error(exc), "at": raised_at(exc)}
            traceback.print_exc()
        report[name]["s"] = round(time.perf_counter() - start, 1)
    try:
        from colossalai.kernel.extensions.base_extension import _Extension

        folder = _Extension.get_jit_extension_folder_path()
        report["folder"] = folder
        report["built"] = sorted(f for f in os.listdir(folder) if f.endswith(".so")) if os.path.isdir(folder) else []
    except Exception as exc:
        report["folder_error"] = short_error(exc)
    return report


def build_plugin(plugin: str, colo_flash: bool):
    from colossalai.booster.plugin import GeminiPlugin, HybridParallelPlugin, LowLevelZeroPlugin

    if plugin == "zero2":
        return LowLevelZeroPlugin(stage=2, precision="bf16", initial_scale=2**16, max_norm=1.0)
    if plugin == "gemini":
        return GeminiPlugin(precision="bf16", initial_scale=2**16, max_norm=1.0)
    return HybridParallelPlugin(tp_size=1, pp_size=1, zero_stage=1, precision="bf16", initial_scale=2**16,
                                max_norm=1.0, enable_flash_attention=colo_flash, enable_fused_normalization=False)


def make_optimizer(plugin: str, model, use_hybrid: bool):
    import torch

    if plugin != "torch" and use_hybrid:
        from colossalai.nn.optimizer import HybridAdam

        return HybridAdam(model.parameters(), lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1), "HybridAdam"
    if plugin == "gemini":
        raise Skip("gemini needs HybridAdam (GeminiOptimizer accepts only ColossalAI's Adam classes) and its "
                   "kernels did not build")
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1,
                                  fused=True)
    return optimizer, "torch.AdamW(fused)"


def boost(plugin: str, colo_flash: bool, model, optimizer):
    from colossalai.booster import Booster

    booster = Booster(plugin=build_plugin(plugin, colo_flash))
    model, optimizer, *_ = booster.boost(model, optimizer)
    return booster, model, optimizer


def one_step(model, optimizer, booster, data):
    import torch

    loss = model(input_ids=data, labels=data).loss
    if booster is None:
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    else:
        booster.backward(loss, optimizer)
    optimizer.step()
    optimizer.zero_grad()
    return loss


def stage(name: str, fn, *args):
    try:
        return fn(*args)
    except Skip:
        raise
    except Exception as exc:
        raise StageError(name, exc) from exc


def synchronize(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def run_config(plugin: str, attn: str, opts, use_hybrid: bool) -> dict:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    shape = SHAPES[opts.shape]
    colo_flash = attn == "colo_flash"
    hf_attn = "eager" if colo_flash else attn
    if attn == "flash_attention_2" and not flash_attn_available():
        raise Skip("flash_attn is not installed")
    config = LlamaConfig(max_position_embeddings=max(4096, opts.seq), tie_word_embeddings=False, **shape)
    torch.manual_seed(0)
    if opts.device == "cuda":
        torch.cuda.reset_peak_memory_stats()

    def make_model():
        with torch.device(opts.device):
            return LlamaForCausalLM._from_config(config, torch_dtype=torch.bfloat16, attn_implementation=hf_attn)

    model = stage("model", make_model)
    model.train()
    params = sum(p.numel() for p in model.parameters())
    optimizer, optimizer_name = stage("optimizer", make_optimizer, plugin, model, use_hybrid)
    booster = None
    if plugin != "torch":
        booster, model, optimizer = stage("boost", boost, plugin, colo_flash, model, optimizer)
    data = torch.randint(0, shape["vocab_size"], (opts.batch, opts.seq), device=opts.device)
    timings = []
    losses = []
    for step in range(opts.warmup + opts.steps):
        synchronize(opts.device)
        start = time.perf_counter()
        loss = stage("step", one_step, model, optimizer, booster, data)
        synchronize(opts.device)
        if step >= opts.warmup:
            timings.append(time.perf_counter() - start)
        losses.append(round(float(loss.detach()), 4))
    tokens_per_s = opts.batch * opts.seq * len(timings) / sum(timings)
    flops_per_token = 6 * params + 12 * shape["num_hidden_layers"] * shape["hidden_size"] * opts.seq
    peak = peak_flops(torch.cuda.get_device_name()) if opts.device == "cuda" else None  # no bf16 peak table on CPU
    result = {"params": params, "optimizer": optimizer_name, "tokens_per_s": round(tokens_per_s, 1),
              "step_s": round(sum(timings) / len(timings), 4), "mfu": round(flops_per_token * tokens_per_s / peak, 4)
              if peak else None, "peak_mem_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2)
              if opts.device == "cuda" else None, "losses": losses}
    del model, optimizer, booster, loss
    return result


def run_one(entry: dict, opts, use_hybrid: bool, broken: dict[str, str]) -> None:
    """Run one config into `entry` (figures, or the skip reason, or the failed stage and error); a plugin that
    fails to boost goes into `broken` so that its other configs are skipped."""
    import torch

    plugin, attn = entry["plugin"], entry["attn"]
    start = time.perf_counter()
    try:
        entry.update(run_config(plugin, attn, opts, use_hybrid))
    except Skip as exc:
        entry["skipped"] = str(exc)
    except StageError as exc:
        entry.update(stage=exc.stage, error=short_error(exc.cause), at=raised_at(exc.cause))
        if exc.stage == "boost" and attn != "colo_flash":
            broken[plugin] = entry["error"]
        traceback.print_exc()
    except Exception as exc:
        entry.update(error=short_error(exc), at=raised_at(exc))
        traceback.print_exc()
    entry["wall_s"] = round(time.perf_counter() - start, 1)
    gc.collect()
    if opts.device == "cuda":
        torch.cuda.empty_cache()


def select(opts) -> list[tuple[str, str]]:
    plugins = [p for p in opts.plugins.split(",") if p]
    unknown = sorted(set(plugins) - set(PLUGINS))
    if unknown:
        raise SystemExit(f"unknown plugin(s) {unknown}; choose from {','.join(PLUGINS)}")
    configs = [c for c in CONFIGS if c[0] in plugins]
    if opts.only:
        wanted = set(opts.only.split(","))
        configs = [c for c in CONFIGS if f"{c[0]}:{c[1]}" in wanted]
    return configs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda",
                        help="cpu: the rehearsal of this script on a machine without a GPU (use with --shape tiny)")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="1b")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--seq", type=int, default=2048)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--budget", type=float, default=450.0, help="seconds; later configs are skipped")
    parser.add_argument("--plugins", default=",".join(PLUGINS), help="comma-separated subset of " + ",".join(PLUGINS))
    parser.add_argument("--only", default="", help="comma-separated plugin:attn configs to run (overrides --plugins)")
    parser.add_argument("--optimizer", choices=("auto", "hybrid", "torch"), default="auto",
                        help="plugins' optimizer: HybridAdam (hybrid), fused torch AdamW (torch), or HybridAdam when "
                             "its kernels build and torch AdamW otherwise (auto)")
    opts = parser.parse_args()
    configs = select(opts)
    began = time.perf_counter()
    summary: dict = {"shape": SHAPES[opts.shape], "device_kind": opts.device, "batch": opts.batch, "seq": opts.seq,
                     "configs": []}
    try:
        import torch

        summary.update(torch=torch.__version__, torch_cuda=torch.version.cuda, cuda=torch.cuda.is_available(),
                       flash_attn=flash_attn_available())
        if opts.device == "cuda":
            if not torch.cuda.is_available():
                raise RuntimeError("no CUDA device (--device cpu rehearses the script without one)")
            summary["device"] = torch.cuda.get_device_name()
        else:
            summary["device"] = "cpu"
        import transformers

        summary["transformers"] = transformers.__version__
    except Exception as exc:
        summary["error"] = short_error(exc)
        print("SUMMARY " + json.dumps(summary), flush=True)
        return 1
    needs_colossalai = any(p != "torch" for p, _ in configs)
    if needs_colossalai:
        try:
            import colossalai

            single_process_env()
            colossalai.launch_from_torch(seed=1024, verbose=False)
            summary["colossalai"] = colossalai.__version__
        except Exception as exc:
            summary["colossalai_error"] = short_error(exc)
            summary["colossalai_error_at"] = raised_at(exc)
            traceback.print_exc()
    use_hybrid = opts.optimizer == "hybrid"
    if "colossalai" in summary and opts.optimizer != "torch":
        kernels = build_kernels()
        summary["kernels"] = kernels
        built = [k for k in KERNELS if kernels[k]["ok"]]
        failed = [k for k in KERNELS if not kernels[k]["ok"]]
        print(f"KERNELS built/loaded: {','.join(built) or '-'}; failed: {','.join(failed) or '-'}; "
              + json.dumps(kernels), flush=True)
        use_hybrid = opts.optimizer == "hybrid" or not failed
    summary["optimizer_mode"] = opts.optimizer
    longest = 0.0
    broken: dict[str, str] = {}  # plugin -> the boost failure that makes its other configs pointless
    for plugin, attn in configs:
        entry = {"plugin": plugin, "attn": attn}
        elapsed = time.perf_counter() - began
        if elapsed + max(longest, 20.0) > opts.budget:
            entry["skipped"] = f"time budget ({elapsed:.0f}s of {opts.budget:.0f}s used)"
        elif plugin != "torch" and "colossalai" not in summary:
            entry["skipped"] = "colossalai not available"
        elif plugin in broken:
            entry["skipped"] = f"{plugin} failed to boost: {broken[plugin]}"[:300]
        else:
            run_one(entry, opts, use_hybrid, broken)
            longest = max(longest, entry["wall_s"])
        print(f"{plugin:7s} {attn:18s} " + json.dumps({k: v for k, v in entry.items() if k not in ("plugin", "attn")}),
              flush=True)
        summary["configs"].append(entry)
    summary["total_s"] = round(time.perf_counter() - began, 1)
    print("SUMMARY " + json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
