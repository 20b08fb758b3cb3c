"""trl's SFTTrainer with a loss head that is cheap on CPU.

trl 1.16 always routes the loss through its fused LM head, which on devices without Triton scores
every position (prompt tokens too) and computes entropy and top-1 accuracy with a dozen full
`tokens x vocab` elementwise passes per forward and per backward. Profiled on this CPU (tiny Llama,
32k vocabulary, padding-free batches of 8 chats) that head took about half of each step's CPU time.

On CPU this subclass instead projects only the positions that carry a label, lets torch's fused
`cross_entropy` compute the loss and its gradient, and takes token accuracy from one argmax
without gradient. The loss is the same quantity trl computes (summed token NLL over
`num_items_in_batch`); `mean_token_accuracy` and `num_tokens` are logged the same way; the
entropy metric (logging only) is not computed. Evaluation and GPUs keep trl's own path.
"""

from __future__ import annotations

from typing import Any

from trl import SFTConfig, SFTTrainer

# Above this many logits one projection is split into chunks recomputed in backward, so memory stays
# bounded on long batches; below it the logits are kept, as a plain transformers model would.
MAX_LOGITS_PER_CHUNK = 64 * 1024 * 1024


def _labelled_nll_and_hits(hidden: Any, lm_head: Any, targets: Any) -> tuple[Any, Any]:
    import torch
    import torch.nn.functional as F

    logits = lm_head(hidden).float()
    loss = F.cross_entropy(logits, targets, reduction="sum")
    with torch.no_grad():
        hits = (logits.argmax(-1) == targets).sum()
    return loss, hits


class FtuiSFTTrainer(SFTTrainer):
    def _cheap_head(self, inputs: dict[str, Any], return_outputs: bool) -> bool:
        return (
            not return_outputs
            and self.model is not None
            and self.model.training
            and self.args.device.type == "cpu"
            and self.compute_loss_func is None
            and self.label_smoother is None
            and isinstance(self.args, SFTConfig)
            and self.args.loss_type == "nll"
            and not self.aux_loss_enabled
            and "labels" in inputs
            and "shift_labels" not in inputs
        )

    def compute_loss(
        self,
        model: Any,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: Any = None,
    ) -> Any:
        if not self._cheap_head(inputs, return_outputs):
            return super().compute_loss(
                model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch
            )
        import torch
        from torch.utils.checkpoint import checkpoint

        unwrapped = self.accelerator.unwrap_model(model)
        base = unwrapped.get_base_model() if hasattr(unwrapped, "get_base_model") else unwrapped
        backbone = getattr(base, base.base_model_prefix)
        lm_head = base.get_output_embeddings()

        labels = inputs["labels"]
        forward = {k: v for k, v in inputs.items() if k != "labels"}
        forward["use_cache"] = False
        # The backbone is called directly, not through the model's forward that accelerate wrapped
        # in autocast: enter it here, or bf16 mixed precision silently trains in fp32.
        with self.accelerator.autocast():
            hidden = backbone(**forward).last_hidden_state[:, :-1]
            targets = labels[:, 1:].to(hidden.device)
            mask = targets != -100
            hidden, targets = hidden[mask], targets[mask]

            n = hidden.shape[0]
            vocab = lm_head.weight.shape[0]
            step = max(1, MAX_LOGITS_PER_CHUNK // vocab)
            if n <= step:
                loss_sum, hits = _labelled_nll_and_hits(hidden, lm_head, targets)
            else:
                loss_sum = hidden.new_zeros((), dtype=torch.float32)
                hits = torch.zeros((), dtype=torch.long, device=hidden.device)
                for start in range(0, n, step):
                    part = slice(start, start + step)
                    part_loss, part_hits = checkpoint(
                        _labelled_nll_and_hits, hidden[part], lm_head, targets[part], use_reentrant=False
                    )
                    loss_sum = loss_sum + part_loss
                    hits = hits + part_hits
        denom = num_items_in_batch if num_items_in_batch is not None else n
        loss = loss_sum / torch.as_tensor(denom, device=loss_sum.device).clamp(min=1)
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            loss = loss * (self.accelerator.num_processes // self.get_tp_size())

        n_valid = self.accelerator.gather_for_metrics(torch.tensor(n, device=hits.device)).sum()
        n_hits = self.accelerator.gather_for_metrics(hits.detach()).sum()
        self._metrics["train"]["mean_token_accuracy"].append(
            (n_hits / n_valid).item() if n_valid > 0 else 0.0
        )
        if "attention_mask" in inputs:
            seen = self.accelerator.gather_for_metrics(inputs["attention_mask"].sum()).sum().item()
        else:
            local = torch.tensor(inputs["position_ids"].size(1), device=inputs["position_ids"].device)
            seen = self.accelerator.gather_for_metrics(local).sum().item()
        self._total_train_tokens += seen // self._tp_size
        self._metrics["train"]["num_tokens"] = [self._total_train_tokens]
        return loss
