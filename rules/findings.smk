rule confirm:
    input:
        runs=f"{RESULTS}/tables/runs.csv",
        plan=PLAN,
    output:
        hypotheses=report(
            HYPOTHESES,
            caption="../report/hypotheses.rst",
            category="Answers",
            labels={"table": "confirmatory hypotheses"},
        ),
        power=report(
            f"{RESULTS}/tables/power.csv",
            caption="../report/power.rst",
            category="Answers",
            labels={"table": "power per cell"},
        ),
    log:
        f"{RESULTS}/logs/confirm.log",
    benchmark:
        f"{RESULTS}/benchmarks/confirm.tsv"
    conda:
        "../envs/mtrl.yaml"
    params:
        target=config["target"],
        couplings=COUPLINGS,
        sharing=config["sharing"],
        sizes=config["train_sizes"],
        findings=config["findings"],
    script:
        "../scripts/confirm.py"


rule findings:
    input:
        unpack(seed_plan_inputs),
        runs=f"{RESULTS}/tables/runs.csv",
        hypotheses=HYPOTHESES,
        comparison=f"{RESULTS}/tables/comparison.csv",
        summary=f"{RESULTS}/tables/summary.csv",
        plan=PLAN,
        description="report/workflow.rst",
        numerics=NUMERICS,
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
        metric=config["findings"]["metric"],
        auxiliary_all_labels=config["training"]["auxiliary_use_all_labels"],
    script:
        "../scripts/findings.py"
