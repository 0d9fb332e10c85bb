"""A tiny LoRA fine-tune for the launcher acceptance run: a random-initialised Qwen2-shaped model (from a
config, no download), PEFT LoRA on the attention projections, the HF Trainer with tqdm and log dicts."""
import os

import torch
from peft import LoraConfig, get_peft_model
from transformers import Qwen2Config, Qwen2ForCausalLM, Trainer, TrainingArguments

torch.manual_seed(0)
config = Qwen2Config(
    vocab_size=2048,
    hidden_size=256,
    intermediate_size=512,
    num_hidden_layers=4,
    num_attention_heads=8,
    num_key_value_heads=4,
    max_position_embeddings=512,
)
model = Qwen2ForCausalLM(config)
model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"], task_type="CAUSAL_LM"))
model.print_trainable_parameters()


class RandomTokens(torch.utils.data.Dataset):
    """Token sequences with a learnable pattern (each sequence repeats a short random motif)."""

    def __init__(self, n, length=128, seed=0):
        g = torch.Generator().manual_seed(seed)
        motifs = torch.randint(0, config.vocab_size, (n, 8), generator=g)
        self.data = motifs.repeat(1, length // 8)

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        ids = self.data[i]
        return {"input_ids": ids, "labels": ids.clone(), "attention_mask": torch.ones_like(ids)}


out = os.environ.get("OUTPUT_DIR", "output/lora_run")
args = TrainingArguments(
    output_dir=out,
    max_steps=int(os.environ.get("MAX_STEPS", "60")),
    per_device_train_batch_size=16,
    per_device_eval_batch_size=16,
    learning_rate=2e-3,
    lr_scheduler_type="cosine",
    warmup_steps=5,
    logging_steps=5,
    eval_strategy="steps",
    eval_steps=20,
    save_strategy="no",
    bf16=torch.cuda.is_available() and torch.cuda.is_bf16_supported(),
    report_to=[],
    disable_tqdm=False,
)
trainer = Trainer(model=model, args=args, train_dataset=RandomTokens(2048), eval_dataset=RandomTokens(128, seed=1))
trainer.train()
if int(os.environ.get("RANK", "0")) == 0:
    model.save_pretrained(out)
    print(f"saved LoRA adapter to {out}")
