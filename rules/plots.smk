rule plot_learning_curves:
    input:
        histories=f"{RESULTS}/tables/histories.csv",
    output:
        figure=report(
            f"{RESULTS}/figures/learning_curves.png",
            caption="../report/learning_curves.rst",
            category="Learning curves",
            labels={"figure": "validation error by epoch"},
        ),
    log:
        f"{RESULTS}/logs/plot_learning_curves.log",
    benchmark:
        f"{RESULTS}/benchmarks/plot_learning_curves.tsv"
    conda:
        "../envs/mtrl.yaml"
    params:
        target=config["target"],
        couplings=COUPLINGS,
        sharing=config["sharing"],
    script:
        "../scripts/plot_learning_curves.py"


rule plot_training_size:
    input:
        summary=f"{RESULTS}/tables/summary.csv",
        runs=f"{RESULTS}/tables/runs.csv",
    output:
        figure=report(
            f"{RESULTS}/figures/training_size.png",
            caption="../report/training_size.rst",
            category="Training size",
            labels={"figure": "target metric vs training size"},
        ),
    log:
        f"{RESULTS}/logs/plot_training_size.log",
    benchmark:
        f"{RESULTS}/benchmarks/plot_training_size.tsv"
    conda:
        "../envs/mtrl.yaml"
    params:
        target=config["target"],
        couplings=COUPLINGS,
        sharing=config["sharing"],
        metric=config["findings"]["metric"],
    script:
        "../scripts/plot_training_size.py"


rule plot_gain_heatmap:
    input:
        comparison=f"{RESULTS}/tables/comparison.csv",
        runs=f"{RESULTS}/tables/runs.csv",
    output:
        figure=report(
            f"{RESULTS}/figures/gain_heatmap.png",
            caption="../report/gain_heatmap.rst",
            category="Sharing",
            labels={"figure": "multi-task gain by sharing and size"},
        ),
    log:
        f"{RESULTS}/logs/plot_gain_heatmap.log",
    benchmark:
        f"{RESULTS}/benchmarks/plot_gain_heatmap.tsv"
    conda:
        "../envs/mtrl.yaml"
    params:
        target=config["target"],
        couplings=COUPLINGS,
        sharing=config["sharing"],
        metric=config["findings"]["metric"],
    script:
        "../scripts/plot_gain_heatmap.py"


rule plot_forest:
    input:
        comparison=f"{RESULTS}/tables/comparison.csv",
        runs=f"{RESULTS}/tables/runs.csv",
    output:
        figure=report(
            f"{RESULTS}/figures/forest.png",
            caption="../report/forest.rst",
            category="Answers",
            labels={"figure": "every gain with its interval"},
        ),
    log:
        f"{RESULTS}/logs/plot_forest.log",
    benchmark:
        f"{RESULTS}/benchmarks/plot_forest.tsv"
    conda:
        "../envs/mtrl.yaml"
    params:
        target=config["target"],
        couplings=COUPLINGS,
        sharing=config["sharing"],
        metric=config["findings"]["metric"],
    script:
        "../scripts/plot_forest.py"


rule plot_task_correlations:
    input:
        table=f"{RESULTS}/tables/task_correlations.csv",
    output:
        figure=report(
            f"{RESULTS}/figures/task_correlations.png",
            caption="../report/task_correlations.rst",
            category="Data",
            labels={"figure": "task label correlations"},
        ),
    log:
        f"{RESULTS}/logs/plot_task_correlations.log",
    benchmark:
        f"{RESULTS}/benchmarks/plot_task_correlations.tsv"
    conda:
        "../envs/mtrl.yaml"
    script:
        "../scripts/plot_task_correlations.py"
