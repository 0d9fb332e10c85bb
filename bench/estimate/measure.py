"""Measure peak GPU memory of small fine-tuning configurations, to calibrate src/core/estimate.

Models are random-initialised from configs (no downloads). Each case runs a few optimizer steps of a plain
training loop (forward with labels, backward, AdamW step) and reports torch.cuda.max_memory_allocated().
Usage: python bench/estimate/measure.py OUT.json [validation]  (writes after every case, so a timeout keeps what was measured)
"""
import gc
import json
import sys
import time

import torch
import transformers
from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config

MODELS = {
    # Shapes of public checkpoints (config.json values), random weights.
    "qwen2-0.5b": lambda: Qwen2Config(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
                                      num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True, max_position_embeddings=32768),
    "qwen2-1.5b": lambda: Qwen2Config(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
                                      num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True, max_position_embeddings=32768),
    "llama-1.1b": lambda: LlamaConfig(hidden_size=2048, intermediate_size=5632, num_hidden_layers=22, num_attention_heads=32,
                                      num_key_value_heads=4, vocab_size=32000, tie_word_embeddings=False, max_position_embeddings=4096),
    "openllama-3b": lambda: LlamaConfig(hidden_size=3200, intermediate_size=8640, num_hidden_layers=26, num_attention_heads=32,
                                        num_key_value_heads=32, vocab_size=32000, tie_word_embeddings=False, max_position_embeddings=8192),
    "qwen2.5-7b": lambda: Qwen2Config(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
                                      num_key_value_heads=4, vocab_size=152064, tie_word_embeddings=False, max_position_embeddings=32768),
    "qwen2.5-3b": lambda: Qwen2Config(hidden_size=2048, intermediate_size=11008, num_hidden_layers=36, num_attention_heads=16,
                                      num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True, max_position_embeddings=32768),
}

QKVO = ["q_proj", "k_proj", "v_proj", "o_proj"]
ALL_LINEAR = QKVO + ["gate_proj", "up_proj", "down_proj"]

CASES = []
for m in ["qwen2-0.5b", "qwen2-1.5b", "llama-1.1b"]:
    CASES += [
        dict(model=m, method="full", precision="bf16", seq=512, batch=1, grad_ckpt=False),
        dict(model=m, method="full", precision="bf16", seq=2048, batch=1, grad_ckpt=True),
        dict(model=m, method="full", precision="bf16", seq=2048, batch=1, grad_ckpt=False),
        dict(model=m, method="full", precision="amp-bf16", seq=1024, batch=1, grad_ckpt=True),
        dict(model=m, method="lora", lora_r=16, lora_targets=QKVO, precision="bf16", seq=2048, batch=1, grad_ckpt=True),
        dict(model=m, method="lora", lora_r=16, lora_targets=QKVO, precision="bf16", seq=4096, batch=1, grad_ckpt=False),
        dict(model=m, method="lora", lora_r=64, lora_targets=ALL_LINEAR, precision="bf16", seq=1024, batch=2, grad_ckpt=True),
    ]
CASES += [
    dict(model="qwen2.5-3b", method="lora", lora_r=8, lora_targets=QKVO, precision="bf16", seq=2048, batch=1, grad_ckpt=True),
    dict(model="qwen2.5-3b", method="full", precision="bf16", seq=1024, batch=1, grad_ckpt=True),
]

# Held-out cases: measured after the estimator's constants were fitted to CASES, to check it on shapes,
# lengths and batch sizes it was not fitted to (python measure.py OUT.json validation).
VALIDATION = [
    dict(model="openllama-3b", method="full", precision="bf16", seq=1024, batch=1, grad_ckpt=True),
    dict(model="openllama-3b", method="lora", lora_r=32, lora_targets=QKVO, precision="bf16", seq=8192, batch=1, grad_ckpt=True),
    dict(model="qwen2.5-7b", method="lora", lora_r=16, lora_targets=QKVO, precision="bf16", seq=2048, batch=1, grad_ckpt=True),
    dict(model="qwen2.5-7b", method="lora", lora_r=64, lora_targets=ALL_LINEAR, precision="bf16", seq=4096, batch=2, grad_ckpt=True),
    dict(model="qwen2-1.5b", method="full", precision="bf16", seq=4096, batch=2, grad_ckpt=True),
    dict(model="qwen2-0.5b", method="full", precision="fp32", seq=1024, batch=1, grad_ckpt=False),
    dict(model="llama-1.1b", method="lora", lora_r=8, lora_targets=QKVO, precision="bf16", seq=1024, batch=8, grad_ckpt=False),
    dict(model="qwen2.5-3b", method="full", precision="bf16", seq=4096, batch=1, grad_ckpt=True),
]


def run_case(case):
    cfg = MODELS[case["model"]]()
    cfg._attn_implementation = "sdpa"
    weight_dtype = torch.float32 if case["precision"] in ("amp-bf16", "fp32") else torch.bfloat16
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = AutoModelForCausalLM.from_config(cfg, torch_dtype=weight_dtype)
    n_params = sum(p.numel() for p in model.parameters())
    if case["grad_ckpt"]:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if case["method"] == "lora":
        from peft import LoraConfig, get_peft_model
        model = get_peft_model(model, LoraConfig(r=case["lora_r"], lora_alpha=2 * case["lora_r"], lora_dropout=0.05,
                                                 target_modules=case["lora_targets"], task_type="CAUSAL_LM"))
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    n_trainable = sum(p.numel() for p in params)
    optimizer = torch.optim.AdamW(params, lr=1e-5, fused=True)
    torch.cuda.synchronize()
    after_load = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    ids = torch.randint(0, cfg.vocab_size, (case["batch"], case["seq"]), device="cuda")
    steps = []
    for _ in range(3):
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=case["precision"] == "amp-bf16"):
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        steps.append(torch.cuda.max_memory_allocated())
    result = dict(case, params=n_params, trainable_params=n_trainable, after_load_bytes=after_load,
                  steady_bytes=torch.cuda.memory_allocated(), peak_bytes=torch.cuda.max_memory_allocated(),
                  peak_by_step=steps, config=cfg.to_diff_dict() if hasattr(cfg, "to_diff_dict") else {})
    del model, optimizer, params, loss, ids
    gc.collect()
    torch.cuda.empty_cache()
    return result


def main():
    out = sys.argv[1]
    cases = VALIDATION if len(sys.argv) > 2 and sys.argv[2] == "validation" else CASES
    meta = dict(torch=torch.__version__, transformers=transformers.__version__, device=torch.cuda.get_device_name(0),
                trainer_default_optim=str(transformers.TrainingArguments(output_dir="/tmp/x").optim))
    results = []
    for case in cases:
        t = time.time()
        try:
            r = run_case(case)
        except Exception as e:  # an OOM or a version problem is recorded, not fatal
            r = dict(case, error=f"{type(e).__name__}: {e}"[:500])
            gc.collect()
            torch.cuda.empty_cache()
        r["seconds"] = round(time.time() - t, 1)
        results.append(r)
        print(json.dumps({k: v for k, v in r.items() if k != "config"}), flush=True)
        with open(out, "w") as f:
            json.dump(dict(meta=meta, cases=results), f, indent=1)


if __name__ == "__main__":
    main()
