#!/usr/bin/env bash
# Whole cycles on a GPU, two builds of batosd's BenchmarkCycles side by
# side on one card in one run (issue 14), and the blueprint's Python stack
# replaying the cycles' model calls:
#
#   scripts/gpu-cycles.sh DIR        results under $OUT (or ./gpu-cycles-out)
#
# DIR (made here, carried to the GPU machine, which has no Go) holds
#   gpubench                 scripts/build-gpubench.sh's build (generates the model)
#   _ollama-src              bin/gpu/_ollama-src (ggml sources; the underscore keeps
#                            its .go files out of `go ... ./...` when DIR is under bin/)
#   build-cuda-backend.sh    this checkout's copy
#   batosd-new.test, batosd-old.test
#                            `go test -c ./examples/batosd/` of the two
#                            versions (x86-64-v3, build-gpubench.sh's flags)
#   lib                      their shared libraries (libzmq and its deps)
#   hf_cycles.py             this checkout's copy
# The CUDA backend builds (16 jobs) while the model is generated; then
# each binary runs CYCLES_N cycles (new first; NEW_ARGS and OLD_ARGS are
# passed to them), and with HF_N above 0 the Python stack replays the
# first HF_N complete cycles of the new run. WORK (default /tmp/gpu-cycles)
# keeps the backend and the model for a later call on the same machine.
set -uo pipefail
dir=${1:?usage: gpu-cycles.sh DIR}
out=${OUT:-gpu-cycles-out}
work=${WORK:-/tmp/gpu-cycles}
mkdir -p "$out" "$work"
export GGML_NO_BACKTRACE=1 PYTHONUNBUFFERED=1
log=$out/log.txt
exec > >(tee -a "$log") 2>&1
echo "card: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -1)"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"

pid=
if [[ ${CYCLES_N:-8} -gt 0 && ! -f $work/lib/libggml-cuda.so ]]; then
	(JOBS=${JOBS:-16} timeout 420 bash "$dir/build-cuda-backend.sh" "$dir/_ollama-src" "$work/build" "$work/lib" >"$work/build.log" 2>&1
		echo "build rc=$? at $SECONDS s" >>"$work/build.log") &
	pid=$!
fi
if [[ ${CYCLES_N:-8} -gt 0 && ! -f $work/m/model.gguf ]]; then
	"$dir/gpubench" gen -dir "$work/m" | tail -4
fi
[[ -n $pid ]] && { echo "### [$SECONDS s] model ready; waiting for the build"; wait "$pid"; tail -2 "$work/build.log"; }

if [[ ${CYCLES_N:-8} -gt 0 ]]; then
	mkdir -p "$work/adapters"
	for p in brick:oracle robin:robin alfred:alfred; do
		ln -sf "$work/m/${p#*:}.gguf" "$work/adapters/${p%%:*}.gguf"
	done
	for v in ${VERSIONS:-new old}; do
		args=${NEW_ARGS:-}
		[[ $v == old ]] && args=${OLD_ARGS:-}
		echo "### [$SECONDS s] BenchmarkCycles, $v $args"
		# shellcheck disable=SC2086
		BATOSD_BIN=/bin/false LD_LIBRARY_PATH=$dir/lib timeout "${CYCLES_LIMIT:-200}" "$dir/batosd-$v.test" -test.run '^$' -test.bench Cycles -test.benchtime 1x \
			-cycles "${CYCLES_N:-8}" -cycles.model "$work/m/model.gguf" -cycles.adapters "$work/adapters" \
			-cycles.backend "$work/lib/libggml-cuda.so" -cycles.ngl -1 -cycles.out "$out/cycles-$v.json" $args 2>&1 |
			grep -v 'WARN\|ggml_backend_cuda_device_get_memory' | tail -30
	done
fi
if [[ ${HF_N:-0} -gt 0 ]]; then
	echo "### [$SECONDS s] the Python stack replays the cycles' model calls"
	timeout "${HF_LIMIT:-300}" python3 "$dir/hf_cycles.py" --cycles "${HF_CYCLES:-$out/cycles-new.json}" --n "$HF_N" --out "$out/hf-cycles.json" | tail -30
fi
echo "### done at $SECONDS s"
