rule prepare_data:
    input:
        downloads=official_files.study_inputs(config),
    output:
        data=DATA,
    log:
        f"{RESULTS}/logs/prepare_data.log",
    benchmark:
        f"{RESULTS}/benchmarks/prepare_data.tsv"
    conda:
        "../envs/mtrl.yaml"
    params:
        data=config["data"],
        tasks=[TASKS[0], *sorted(TASKS[1:])],  # order-free, so that reordering couplings reruns nothing
        target=config["target"],
    script:
        "../scripts/prepare_data.py"


rule plan_study:
    input:
        data=DATA,
    output:
        plan=report(
            PLAN,
            caption="../report/plan.rst",
            category="Data",
            labels={"table": "study plan"},
        ),
    log:
        f"{RESULTS}/logs/plan_study.log",
    benchmark:
        f"{RESULTS}/benchmarks/plan_study.tsv"
    conda:
        "../envs/mtrl.yaml"
    params:
        tasks=[TASKS[0], *sorted(TASKS[1:])],
        target=config["target"],
        train_sizes=config["train_sizes"],
        auxiliary_from_target_rows=auxiliary_from_target_rows(config),
    script:
        "../scripts/plan_study.py"


rule task_correlations:
    input:
        data=DATA,
    output:
        table=report(
            f"{RESULTS}/tables/task_correlations.csv",
            caption="../report/task_correlations_table.rst",
            category="Data",
            labels={"table": "task correlations"},
        ),
    log:
        f"{RESULTS}/logs/task_correlations.log",
    benchmark:
        f"{RESULTS}/benchmarks/task_correlations.tsv"
    conda:
        "../envs/mtrl.yaml"
    params:
        tasks=TASKS,
    script:
        "../scripts/task_correlations.py"


rule choose_couplings:
    input:
        table=f"{RESULTS}/tables/task_correlations.csv",
    output:
        couplings=report(
            CHOSEN_COUPLINGS,
            caption="../report/couplings.rst",
            category="Data",
            labels={"table": "chosen couplings"},
        ),
    log:
        f"{RESULTS}/logs/choose_couplings.log",
    benchmark:
        f"{RESULTS}/benchmarks/choose_couplings.tsv"
    conda:
        "../envs/mtrl.yaml"
    params:
        target=config["target"],
        auto=config.get("auto_couplings", {}),
    script:
        "../scripts/choose_couplings.py"
