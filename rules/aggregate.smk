rule collect_runs:
    input:
        metrics=study_runs("metrics.json"),
        histories=study_runs("history.csv"),
    output:
        runs=report(
            f"{RESULTS}/tables/runs.csv",
            caption="../report/runs.rst",
            category="Comparison",
            labels={"table": "all runs"},
        ),
        histories=f"{RESULTS}/tables/histories.csv",
    log:
        f"{RESULTS}/logs/collect_runs.log",
    benchmark:
        f"{RESULTS}/benchmarks/collect_runs.tsv"
    conda:
        "../envs/mtrl.yaml"
    params:
        target=config["target"],
    script:
        "../scripts/collect_runs.py"


rule summarise:
    input:
        runs=f"{RESULTS}/tables/runs.csv",
    output:
        summary=report(
            f"{RESULTS}/tables/summary.csv",
            caption="../report/summary.rst",
            category="Comparison",
            labels={"table": "summary over seeds"},
        ),
    log:
        f"{RESULTS}/logs/summarise.log",
    benchmark:
        f"{RESULTS}/benchmarks/summarise.tsv"
    conda:
        "../envs/mtrl.yaml"
    script:
        "../scripts/summarise.py"


rule compare:
    input:
        runs=f"{RESULTS}/tables/runs.csv",
        plan=PLAN,
    output:
        comparison=report(
            f"{RESULTS}/tables/comparison.csv",
            caption="../report/comparison.rst",
            category="Comparison",
            labels={"table": "multi-task vs single-task"},
        ),
    log:
        f"{RESULTS}/logs/compare.log",
    benchmark:
        f"{RESULTS}/benchmarks/compare.tsv"
    conda:
        "../envs/mtrl.yaml"
    params:
        target=config["target"],
    script:
        "../scripts/compare.py"
