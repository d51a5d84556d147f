#!/usr/bin/env bash
# Issue 9's GPU benchmark, one run on the GPU machine, from the repository
# root. Needs bin/gpu from scripts/build-gpubench.sh (the machine has no Go),
# CMake, nvcc, and python3 with torch, transformers and peft.
#
#   scripts/gpubench.sh            results under $OUT (or ./gpubench-out)
#
# Steps: build the CUDA backend (in the background) while the model and
# adapters are generated and imported into a store; then the llama package
# with all layers on the GPU; the Python stack; time to first token after a
# restart (fresh processes: plain file; blob cache as the vm checks it, with
# its verification stamp; blob cache with a full SHA-256); 16 of 33 layers on the GPU; the Markdown report
# (gpu.md). Each step is cut short so the whole run ends within BUDGET
# seconds (default 560), and what finished is still reported. GEN_ARGS
# (e.g. "-layers 1") shrinks the model for a dry run.
set -uo pipefail
out=${OUT:-gpubench-out}
mkdir -p "$out"
budget=${BUDGET:-560}
data=${DATA:-/tmp/gpubench}
bin=bin/gpu/gpubench
log=$out/log.txt
export GGML_NO_BACKTRACE=1 PYTHONUNBUFFERED=1
exec > >(tee -a "$log") 2>&1

left() { echo $((budget - SECONDS)); }
# step LIMIT CMD...: run CMD with at most LIMIT seconds, less if the budget
# is shorter (20 s are kept for the report).
step() {
	local lim=$1
	shift
	local l=$(($(left) - 20))
	((l < lim)) && lim=$l
	if ((lim < 5)); then
		echo "### skipped (no time left): $*"
		return 1
	fi
	echo "### [$SECONDS s] $* (limit ${lim}s)"
	timeout "$lim" "$@"
	local rc=$?
	echo "### [$SECONDS s] rc=$rc"
	return $rc
}

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -1 | tee "$data.smi" >/dev/null
mkdir -p "$data"
smi=$(cat "$data.smi")
cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"
grep -qw avx512f /proc/cpuinfo && cpu="$cpu, AVX-512"
grep -qw amx_tile /proc/cpuinfo && cpu="$cpu, AMX"
echo "card: $smi; cpu: $cpu"
nvidia-smi

# 1. CUDA backend, in the background.
(timeout $((budget - 200)) scripts/build-cuda-backend.sh bin/gpu/_ollama-src /tmp/cuda-build /tmp/ggml-lib >/tmp/libpath 2>/tmp/build.log
	echo "build rc=$? at $SECONDS s" >>/tmp/build.log) &
build=$!

# 2. Model, adapters, blob.
step 150 $bin gen -dir "$data/m" ${GEN_ARGS:-}
step 120 $bin put -dir "$data/m" -store "$data/store"
echo "### [$SECONDS s] waiting for the CUDA build"
wait $build
tail -5 /tmp/build.log | tee "$out/build-tail.txt"
lib=/tmp/cuda-build/lib/ollama/libggml-cuda.so
ls -la /tmp/cuda-build/lib/ollama/ 2>/dev/null

if [[ -f $lib ]]; then
	# 3. All layers on the GPU.
	step 150 $bin bench -dir "$data/m" -backend "$lib" -ngl -1 -probe -out "$out/full.json"
	# 4. The Python stack, on the same card.
	step 170 python3 scripts/hf_baseline.py --out "$out/hf.json"
	# 5. Time to first token after a restart.
	for rep in 1 2 3; do
		for mode in plain blob blobfull; do
			step 40 $bin ttft -mode $mode -dir "$data/m" -store "$data/store" -backend "$lib" -ngl -1 -out "$out/ttft.jsonl" 2>&1 | grep -v WARN
		done
	done
	# 6. 16 of 33 layers on the GPU, the rest on the binary's own CPU backend.
	step 150 $bin bench -dir "$data/m" -backend "$lib" -ngl 16 -reps 2 -switches 60 -batch-tokens 64 -grammar=false -out "$out/partial.json"
	if [[ -x bin/gpu/gpubench-v4 ]] && grep -qw avx512f /proc/cpuinfo; then
		step 60 bin/gpu/gpubench-v4 bench -dir "$data/m" -backend "$lib" -ngl 16 -reps 1 -switches 3 -batch-tokens 0 -grammar=false -out "$out/partial-v4.json"
	fi
else
	echo "### no CUDA backend; build log:"
	tail -40 /tmp/build.log
	step 170 python3 scripts/hf_baseline.py --out "$out/hf.json"
fi

# 7. Report.
notes=$data.notes
{
	if [[ -f $out/partial-v4.json ]]; then
		echo "16/33 layers with an x86-64-v4 (AVX-512) build of the binary's CPU backend: $(grep -o '"decode_tok_s": [0-9.]*' "$out/partial-v4.json" | head -1) (prefill: $(grep -o '"prefill_tok_s": [0-9.]*' "$out/partial-v4.json" | head -1))."
	fi
	echo "CUDA backend build: $(grep -o 'build rc=.*' /tmp/build.log)."
} >"$notes"
$bin report -o "$out/gpu.md" -full "$out/full.json" -partial "$out/partial.json" -ttft "$out/ttft.jsonl" \
	-hf "$out/hf.json" -smi "$data.smi" -cpu "$cpu" -notes "$notes" \
	-cmd "${GPUBENCH_CMD:-scripts/build-gpubench.sh (here), then scripts/gpubench.sh (GPU machine)}"
echo "### done at $SECONDS s"
