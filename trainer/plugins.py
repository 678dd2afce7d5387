"""Booster plugins and the optimizer: what runs where.

Only `ddp` (TorchDDPPlugin on gloo) works without CUDA; the others are refused there with a message. On CUDA the
optimizer is ColossalAI's HybridAdam (AdamW mode); on CPU its kernel is unavailable, so torch AdamW with the same
betas (0.9, 0.95), eps 1e-8 and weight decay on all parameters. ZeRO/Gemini/3d clip gradients themselves (max_norm);
with ddp the loop clips before each optimizer step.
"""

from __future__ import annotations

from trainer.args import TrainArgs

CPU_PLUGINS = ("ddp",)
BETAS = (0.9, 0.95)
EPS = 1e-8


def check_plugin(plugin: str, cuda: bool) -> None:
    if not cuda and plugin not in CPU_PLUGINS:
        raise ValueError(f"--plugin {plugin} needs CUDA (ColossalAI's ZeRO, Gemini and 3d plugins do not run on "
                         "CPU); use --plugin ddp")


def build_plugin(args: TrainArgs, cuda: bool, flash_attention: bool):
    check_plugin(args.plugin, cuda)
    from colossalai.booster.plugin import (
        GeminiPlugin,
        HybridParallelPlugin,
        LowLevelZeroPlugin,
        TorchDDPPlugin,
    )

    precision = args.mixed_precision if cuda else "fp32"
    clip = args.grad_clip or 0.0
    if args.plugin == "ddp":
        return TorchDDPPlugin(find_unused_parameters=False)
    if args.plugin in ("zero2", "zero2_cpu"):
        return LowLevelZeroPlugin(stage=2, precision=precision, initial_scale=2**16, max_norm=clip,
                                  cpu_offload=args.plugin == "zero2_cpu")
    if args.plugin in ("gemini", "gemini_auto"):
        return GeminiPlugin(precision=precision, initial_scale=2**16, max_norm=clip,
                            placement_policy="auto" if args.plugin == "gemini_auto" else "static",
                            enable_gradient_accumulation=args.accumulation_steps > 1,
                            enable_flash_attention=flash_attention)
    return HybridParallelPlugin(tp_size=args.tp_size, pp_size=1, zero_stage=args.zero_stage, precision=precision,
                                initial_scale=2**16, max_norm=clip, enable_flash_attention=flash_attention,
                                enable_fused_normalization=False)


def build_optimizer(model, args: TrainArgs, cuda: bool):
    if cuda:
        from colossalai.nn.optimizer import HybridAdam

        return HybridAdam(model.parameters(), lr=args.lr, betas=BETAS, eps=EPS, weight_decay=args.weight_decay,
                          adamw_mode=True)
    import torch

    return torch.optim.AdamW(model.parameters(), lr=args.lr, betas=BETAS, eps=EPS, weight_decay=args.weight_decay)


def data_parallel_rank(plugin, args: TrainArgs) -> tuple[int, int]:
    """(rank, size) of this process in the data-parallel group (differs from the global rank with tp > 1)."""
    import torch.distributed as dist

    if args.plugin == "3d":
        return dist.get_rank(plugin.dp_group), plugin.dp_size
    return dist.get_rank(), dist.get_world_size()
