# The study's numerics (backend, precision, device class), resolved once on a node like the
# training jobs' (same threads: a `precision: auto` calibration measures what they will get).
# Every training job takes the file as an input and trains in its precision (scripts/train.py).
rule resolve_numerics:
    output:
        numerics=NUMERICS,
    log:
        f"{RESULTS}/logs/resolve_numerics.log",
    benchmark:
        f"{RESULTS}/benchmarks/resolve_numerics.tsv"
    conda:
        "../envs/mtrl.yaml"
    threads: 1  # as the training rules (profiles: set-threads alike)
    resources:
        mem_mb=3000,
        runtime=10,
    params:
        backend=config["backend"],
        precision=config["precision"],
        network=NETWORK_SHAPE,
    script:
        "../scripts/resolve_numerics.py"
