#!/usr/bin/env python3
"""Issue 14's whole cycles through the blueprint's Python stack.

Replays the model calls of the cycles BenchmarkCycles measured (its
-cycles.out JSON) through transformers + peft on the same card: the same
Llama-3.1-8B config as hf_baseline.py (random bf16 weights, no download),
three rank-16 LoRA adapters, and for every call of a cycle set_adapter to
the call's persona adapter (or the base model), then greedy generate with a
prompt of the call's length and exactly the call's output tokens. The
Python stack has no grammar, so this is its cost for the same work, a lower
bound (no VM, no audit, no sandbox). Prints one JSON object (also --out).

    python3 scripts/hf_cycles.py --cycles cycles.json --n 5 --out hf-cycles.json
"""

import argparse
import json
import statistics
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cycles", required=True)
    ap.add_argument("--n", type=int, default=5, help="cycles replayed (the first N complete ones)")
    ap.add_argument("--layers", type=int, default=32)
    ap.add_argument("--out", default="")
    args = ap.parse_args()

    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    with open(args.cycles) as f:
        cycles = [c for c in json.load(f)["cycles"] if c["status"].lower() == "complete"][: args.n]
    cfg = LlamaConfig(
        vocab_size=128256, hidden_size=4096, intermediate_size=14336, num_hidden_layers=args.layers,
        num_attention_heads=32, num_key_value_heads=8, max_position_embeddings=131072, rms_norm_eps=1e-5,
        rope_theta=500000.0, bos_token_id=128000, eos_token_id=128001, tie_word_embeddings=False,
    )
    torch.manual_seed(0)
    torch.set_default_dtype(torch.bfloat16)
    with torch.device("cuda"):
        model = LlamaForCausalLM(cfg)
    model.eval()
    targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    lc = LoraConfig(r=16, lora_alpha=16, target_modules=targets, lora_dropout=0.0, init_lora_weights=False)
    adapters = sorted({s["adapter"] for c in cycles for s in c["steps"] if s.get("adapter")}) or ["alfred"]
    pm = get_peft_model(model, lc, adapter_name=adapters[0])
    for a in adapters[1:]:
        pm.add_adapter(a, lc)
    pm.eval()
    gen = torch.Generator(device="cuda").manual_seed(1)

    def call(step):
        n = max(1, step["output_tokens"])
        ids = torch.randint(0, 128000, (1, max(1, step["prompt_tokens"])), device="cuda", generator=gen)
        kw = dict(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=n, min_new_tokens=n,
                  do_sample=False, pad_token_id=0, use_cache=True)
        if step.get("adapter"):
            pm.set_adapter(step["adapter"])
            pm.generate(**kw)
        else:
            with pm.disable_adapter():
                pm.generate(**kw)

    res = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "adapters": adapters, "cycles": []}
    with torch.inference_mode():
        call({"prompt_tokens": 64, "output_tokens": 4, "adapter": adapters[0]})  # warm-up
        for c in cycles:
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            for s in c["steps"]:
                call(s)
            torch.cuda.synchronize()
            took = time.perf_counter() - t0
            res["cycles"].append({"selector": c["selector"], "s": round(took, 3), "batos_s": c["s"],
                                  "calls": len(c["steps"]), "output_tokens": sum(s["output_tokens"] for s in c["steps"])})
            print(json.dumps(res["cycles"][-1]), flush=True)
    hf = [c["s"] for c in res["cycles"]]
    ours = [c["batos_s"] for c in res["cycles"]]
    if hf:
        res["hf_s_p50"] = statistics.median(hf)
        res["batos_s_p50"] = statistics.median(ours)
        res["ratio_total"] = round(sum(hf) / sum(ours), 2)
    s = json.dumps(res, indent=1)
    print(s)
    if args.out:
        with open(args.out, "w") as f:
            f.write(s + "\n")


if __name__ == "__main__":
    sys.exit(main())
