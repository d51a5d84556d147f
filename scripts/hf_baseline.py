#!/usr/bin/env python3
"""The blueprint's Python stack on the GPU, for issue 9's comparison.

A Llama-3.1-8B config with random bf16 weights (no download) in
transformers, greedy model.generate at batch 1, and peft set_adapter between
three rank-16 LoRA adapters. Prints one JSON object (also written to --out).

    python3 scripts/hf_baseline.py --out hf.json

Measured: prefill tok/s (one forward pass over a 512-token prompt), decode
tok/s (generate 128 tokens minus generate 1 token, after the same 512-token
prompt), the same decode with a peft adapter active, aggregate decode tok/s
of 4 sequences in one generate batch (64-token prompts), and set_adapter
latency p50/p99.
"""

import argparse
import json
import statistics
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="")
    ap.add_argument("--prompt", type=int, default=512)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--layers", type=int, default=32)
    ap.add_argument("--switches", type=int, default=60)
    args = ap.parse_args()

    import torch
    import transformers
    import peft
    from transformers import LlamaConfig, LlamaForCausalLM

    res = {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "cuda": torch.version.cuda,
        "device": torch.cuda.get_device_name(0),
    }

    def emit():
        s = json.dumps(res, indent=1)
        print(s, flush=True)
        if args.out:
            with open(args.out, "w") as f:
                f.write(s + "\n")

    cfg = LlamaConfig(
        vocab_size=128256,
        hidden_size=4096,
        intermediate_size=14336,
        num_hidden_layers=args.layers,
        num_attention_heads=32,
        num_key_value_heads=8,
        max_position_embeddings=131072,
        rms_norm_eps=1e-5,
        rope_theta=500000.0,
        bos_token_id=128000,
        eos_token_id=128001,
        tie_word_embeddings=False,
    )
    t = time.perf_counter()
    torch.manual_seed(0)
    torch.set_default_dtype(torch.bfloat16)
    with torch.device("cuda"):
        model = LlamaForCausalLM(cfg)
    model.eval()
    torch.cuda.synchronize()
    res["init_s"] = round(time.perf_counter() - t, 2)
    res["params"] = sum(p.numel() for p in model.parameters())
    res["dtype"] = str(next(model.parameters()).dtype)
    res["attn_implementation"] = getattr(model.config, "_attn_implementation", "?")

    gen = torch.Generator(device="cuda").manual_seed(1)
    prompt = torch.randint(0, 128000, (1, args.prompt), device="cuda", generator=gen)
    mask = torch.ones_like(prompt)

    def timed(fn, reps):
        out = []
        for _ in range(reps):
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            fn()
            torch.cuda.synchronize()
            out.append(time.perf_counter() - t0)
        return out

    def generate(ids, n, m=None):
        return model.generate(input_ids=ids, attention_mask=m if m is not None else torch.ones_like(ids),
                              max_new_tokens=n, min_new_tokens=n, do_sample=False,
                              pad_token_id=0, use_cache=True)

    def section(name, fn):
        # A failing section is recorded and the next one still runs.
        try:
            with torch.inference_mode():
                fn()
        except Exception as e:  # noqa: BLE001
            res[name + "_error"] = f"{type(e).__name__}: {e}"[:300]
        emit()

    def base():
        # Prefill: one forward pass over the prompt.
        timed(lambda: model(input_ids=prompt, attention_mask=mask, use_cache=True), 2)  # warm-up
        ts = timed(lambda: model(input_ids=prompt, attention_mask=mask, use_cache=True), 3)
        res["prefill_s"] = statistics.median(ts)
        res["prefill_tok_s"] = round(args.prompt / statistics.median(ts), 1)

        # Decode: generate(N) - generate(1) after the same prompt.
        out = generate(prompt, 8)  # warm-up
        assert out.shape[1] == args.prompt + 8
        t1 = statistics.median(timed(lambda: generate(prompt, 1), 2))
        tn = statistics.median(timed(lambda: generate(prompt, args.tokens), 2))
        res["generate1_s"] = round(t1, 4)
        res["generateN_s"] = round(tn, 4)
        res["decode_tok_s"] = round((args.tokens - 1) / (tn - t1), 2)

    def batch4():
        # Four sequences in one generate batch (64-token prompts).
        p4 = torch.randint(0, 128000, (4, 64), device="cuda", generator=gen)
        generate(p4, 4)
        b1 = statistics.median(timed(lambda: generate(p4, 1), 1))
        bn = statistics.median(timed(lambda: generate(p4, 64), 1))
        res["batch4_decode_tok_s"] = round(4 * 63 / (bn - b1), 2)

    def adapters():
        # peft: three rank-16 adapters on the usual targets.
        from peft import LoraConfig, get_peft_model
        targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
        lc = LoraConfig(r=16, lora_alpha=16, target_modules=targets, lora_dropout=0.0, init_lora_weights=False)
        t = time.perf_counter()
        pm = get_peft_model(model, lc, adapter_name="alfred")
        pm.add_adapter("robin", lc)
        pm.add_adapter("oracle", lc)
        torch.cuda.synchronize()
        res["peft_setup_s"] = round(time.perf_counter() - t, 2)
        pm.eval()
        names = ["alfred", "robin", "oracle"]
        sw = []
        for i in range(args.switches):
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            pm.set_adapter(names[i % 3])
            torch.cuda.synchronize()
            sw.append(time.perf_counter() - t0)
        sw.sort()
        res["set_adapter_ms_p50"] = round(1000 * sw[len(sw) // 2], 3)
        res["set_adapter_ms_p99"] = round(1000 * sw[min(len(sw) - 1, int(len(sw) * 0.99))], 3)
        res["set_adapter_n"] = len(sw)

        def pgen(n):
            return pm.generate(input_ids=prompt, attention_mask=mask, max_new_tokens=n, min_new_tokens=n,
                               do_sample=False, pad_token_id=0, use_cache=True)
        pgen(4)
        a1 = statistics.median(timed(lambda: pgen(1), 1))
        an = statistics.median(timed(lambda: pgen(args.tokens), 1))
        res["adapter_decode_tok_s"] = round((args.tokens - 1) / (an - a1), 2)

    section("base", base)
    section("batch4", batch4)
    section("peft", adapters)


if __name__ == "__main__":
    sys.exit(main())
