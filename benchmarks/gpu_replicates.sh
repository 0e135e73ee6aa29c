#!/usr/bin/env bash
# The GPU check of replicate groups (not a test): on a machine with a CUDA GPU and PyTorch (and no
# network: Keras and what it needs beyond the machine's packages come as wheels), run the stacked
# group's correctness checks on the GPU, then bench_replicates.py on the default study's data.
#
#   benchmarks/gpu_replicates.sh DEFAULT_PREPARED.h5 TINY_PREPARED.h5 OUT_DIR [WHEELS_DIR]
#
# DEFAULT_PREPARED.h5: the default study's prepared data (bench_replicates.py builds it at
# results/bench/replicates_data/data/prepared.h5); TINY_PREPARED.h5: any small prepared set with
# the tasks t_target, t_close, t_reg (tests/conftest.py's tiny_prepared). Writes OUT_DIR/checks.log,
# OUT_DIR/bench.log and OUT_DIR/replicates_gpu.json (and, where JAX sees the GPU, jax_checks.log,
# bench_jax.log and replicates_gpu_jax.json).
set -euo pipefail
default=$1 tiny=$2 out=$3 wheels=${4:-}
repo=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}
if [[ -n $wheels ]]; then
    "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/mtrl-site "$wheels"/*.whl
    export PYTHONPATH=/tmp/mtrl-site
fi
export PYTHONPATH=$repo${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 KERAS_BACKEND=torch
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt" || echo "no nvidia-smi"
"$python" -c "import torch, keras; print('torch', torch.__version__, 'keras', keras.__version__, 'cuda', torch.cuda.is_available())"
echo "== stacked group checks on the GPU"
timeout 120 "$python" "$repo/tests/replicate_group_checks.py" "$tiny" 2>&1 | tee "$out/checks.log" ||
    echo "== a check FAILED (above); the benchmark runs all the same"
echo "== replicates per second"
timeout 330 "$python" "$repo/benchmarks/bench_replicates.py" --data "$default" --models low,high \
    --replicates "${REPLICATES:-1,4,16,32}" --epochs "${EPOCHS:-10}" --out "$out/replicates_gpu.json" \
    2>&1 | tee "$out/bench.log"
# JAX, where it sees the GPU: the group as one XLA program (mtrl.backends.jax.stacked)
if KERAS_BACKEND=jax "$python" -c "import jax, sys; sys.exit(jax.default_backend() != 'gpu')" 2>/dev/null; then
    echo "== JAX stacked program checks on the GPU"
    KERAS_BACKEND=jax timeout 240 "$python" -m pytest -q -p no:cacheprovider "$repo/tests/test_replicate_groups.py" \
        -k jax 2>&1 | tee "$out/jax_checks.log" || echo "== a JAX check FAILED (or pytest is missing)"
    echo "== JAX replicates per second"
    KERAS_BACKEND=jax timeout 330 "$python" "$repo/benchmarks/bench_replicates.py" --backend jax --data "$default" \
        --models low,high --replicates "${REPLICATES:-1,4,16,32}" --epochs "${EPOCHS:-10}" \
        --out "$out/replicates_gpu_jax.json" 2>&1 | tee "$out/bench_jax.log"
else
    echo "== JAX does not see the GPU here: no JAX rows"
fi
