#!/usr/bin/env bash
# Issue 14's side-by-side GPU run: two builds of the GPU benchmark, each
# with the CUDA backend of its own ollama module, on one card in one run.
#
#   scripts/gpu-compare.sh DIR        results under $OUT (or ./gpu-compare-out)
#
# DIR (made here, carried to the GPU machine, which has no Go) holds
#   gpubench-old, gpubench-new   scripts/build-gpubench.sh builds of the two
#                                versions (x86-64-v3)
#   src-old, src-new             their bin/gpu/_ollama-src (ggml sources)
#   build-cuda-backend.sh        this checkout's copy
# Both CUDA backends build at once (8 jobs each) while the new binary
# generates the 8B-shaped model; then each binary runs the benchmark with
# all layers on the GPU (flash attention off, then on), old first, and
# the new one also times BRICK plans with jump-forward decoding and
# without. CYCLES=1 then runs BenchmarkCycles (DIR/batosd.test, with
# DIR/lib holding its shared libraries) and the Python stack's replay of
# its model calls (scripts/hf_cycles.py).
set -uo pipefail
dir=${1:?usage: gpu-compare.sh DIR}
out=${OUT:-gpu-compare-out}
work=${WORK:-/tmp/gpu-compare}
mkdir -p "$out" "$work"
export GGML_NO_BACKTRACE=1 PYTHONUNBUFFERED=1
log=$out/log.txt
exec > >(tee -a "$log") 2>&1
echo "card: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -1)"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader >"$out/smi.txt"
nvcc --version 2>/dev/null | tail -2

pids=()
for v in ${VERSIONS:-old new}; do
	[[ -f $work/lib-$v/libggml-cuda.so ]] && continue
	(JOBS=${JOBS:-8} timeout 480 bash "$dir/build-cuda-backend.sh" "$dir/src-$v" "$work/build-$v" "$work/lib-$v" >"$work/build-$v.log" 2>&1
		echo "build $v rc=$? at $SECONDS s" >>"$work/build-$v.log") &
	pids+=($!)
done
if [[ ! -f $work/m/model.gguf ]]; then
	"$dir/gpubench-new" gen -dir "$work/m" | tail -4
fi
echo "### [$SECONDS s] model ready; waiting for the builds"
for p in "${pids[@]}"; do wait "$p"; done
for v in ${VERSIONS:-old new}; do tail -2 "$work/build-$v.log"; done

bench() { # version name args...
	local v=$1 name=$2
	shift 2
	echo "### [$SECONDS s] $v $name: $*"
	timeout 150 "$dir/gpubench-$v" bench -dir "$work/m" -backend "$work/lib-$v/libggml-cuda.so" -ngl -1 -out "$out/$v-$name.json" "$@" 2>&1 | grep -v WARN
}
if [[ ${BENCH:-1} == 1 ]]; then
	for v in ${VERSIONS:-old new}; do
		extra=()
		[[ $v == new ]] && extra=(-plans 6)
		bench "$v" full -reps 3 -switches 60 "${extra[@]}"
	done
	for v in ${VERSIONS:-old new}; do
		extra=()
		[[ $v == new ]] && extra=(-plans 0)
		bench "$v" fa -fa -reps 3 -switches 3 -batch-tokens 0 "${extra[@]}"
	done
fi

if [[ ${CYCLES:-0} == 1 ]]; then
	mkdir -p "$work/adapters"
	for p in brick:oracle robin:robin alfred:alfred; do
		ln -sf "$work/m/${p#*:}.gguf" "$work/adapters/${p%%:*}.gguf"
	done
	for jf in on off; do
		[[ $jf == off && ${CYCLES_NOJF:-1} == 0 ]] && continue
		echo "### [$SECONDS s] BenchmarkCycles, jump-forward $jf"
		BATOSD_BIN=/bin/false LD_LIBRARY_PATH=$dir/lib timeout ${CYCLES_LIMIT:-200} "$dir/batosd.test" -test.run '^$' -test.bench Cycles -test.benchtime 1x \
			-cycles "${CYCLES_N:-20}" -cycles.model "$work/m/model.gguf" -cycles.adapters "$work/adapters" \
			-cycles.backend "$work/lib-new/libggml-cuda.so" -cycles.ngl -1 -cycles.out "$out/cycles-$jf.json" \
			$([[ $jf == off ]] && echo -cycles.nojf) 2>&1 | grep -v 'WARN\|ggml_backend_cuda_device_get_memory' | tail -40
	done
	echo "### [$SECONDS s] the Python stack replays the cycles' model calls"
	timeout ${HF_LIMIT:-200} python3 "$dir/hf_cycles.py" --cycles "$out/cycles-on.json" --n "${HF_N:-5}" --out "$out/hf-cycles.json" | tail -30
fi
echo "### done at $SECONDS s"
