rule findings:
    input:
        runs=f"{RESULTS}/tables/runs.csv",
        comparison=f"{RESULTS}/tables/comparison.csv",
        summary=f"{RESULTS}/tables/summary.csv",
        description="report/workflow.rst",
    output:
        markdown=f"{RESULTS}/findings.md",
        html=report(
            f"{RESULTS}/findings.html",
            caption="../report/findings.rst",
            category="Findings",
            labels={"page": "findings"},
        ),
        front_page=FRONT_PAGE,
    log:
        f"{RESULTS}/logs/findings.log",
    benchmark:
        f"{RESULTS}/benchmarks/findings.tsv"
    conda:
        "../envs/mtrl.yaml"
    params:
        target=config["target"],
        couplings=COUPLINGS,
        sharing=config["sharing"],
        alpha=config["findings"]["alpha"],
        adjustment=config["findings"]["adjustment"],
        auxiliary_all_labels=config["training"].get("auxiliary_use_all_labels", False),
    script:
        "../scripts/findings.py"
