"""Peak memory of training a SigLIP-400M-shaped vision encoder (MiniCPM-V's vpm) on N 448x448 slices, to check
the estimator's vision-activation term. Random init, no downloads. Usage: python measure_vision.py OUT.json
Its output on an H100 is bench/estimate/vision.json, which `npm run bench:estimate` compares with the estimate."""
import gc, json, sys, time
import torch
from transformers import SiglipVisionConfig, SiglipVisionModel

cases = [dict(slices=10, grad_ckpt=True), dict(slices=10, grad_ckpt=False), dict(slices=4, grad_ckpt=False), dict(slices=10, frozen=True)]
out = []
for case in cases:
    cfg = SiglipVisionConfig(hidden_size=1152, intermediate_size=4304, num_hidden_layers=27, num_attention_heads=16, image_size=448, patch_size=14)
    cfg._attn_implementation = "sdpa"
    with torch.device("cuda"):
        model = SiglipVisionModel(cfg).to(torch.bfloat16)
    frozen = case.get("frozen", False)
    if case.get("grad_ckpt"):
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.train()
    params = [p for p in model.parameters()]
    if frozen:
        for p in params:
            p.requires_grad_(False)
    opt = None if frozen else torch.optim.AdamW(params, lr=1e-5, fused=True)
    torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats()
    x = torch.randn(case["slices"], 3, 448, 448, device="cuda", dtype=torch.bfloat16)
    t = time.time()
    for _ in range(3):
        if frozen:
            with torch.no_grad():
                y = model(pixel_values=x).last_hidden_state
        else:
            loss = model(pixel_values=x).last_hidden_state.float().pow(2).mean()
            loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
    r = dict(case, params=sum(p.numel() for p in params), peak_bytes=torch.cuda.max_memory_allocated(), seconds=round(time.time() - t, 1))
    print(json.dumps(r), flush=True)
    out.append(r)
    del model, opt, x, params
    gc.collect(); torch.cuda.empty_cache()
json.dump(dict(device=torch.cuda.get_device_name(0), torch=torch.__version__, cases=out), open(sys.argv[1], "w"), indent=1)
