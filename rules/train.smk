rule train_multitask:
    input:
        unpack(multitask_inputs),
    output:
        model=f"{MTL_RUN}/model.keras",
        history=f"{MTL_RUN}/history.csv",
        metrics=f"{MTL_RUN}/metrics.json",
    log:
        f"{RESULTS}/logs/runs/{{coupling}}/{{sharing}}/n{{n_train}}/seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/runs/{{coupling}}/{{sharing}}/n{{n_train}}/seed{{seed}}.tsv"
    conda:
        "../envs/mtrl.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=60,
    params:
        run=multitask_params,
        backend=config["backend"],
    message:
        "{PLAN_NOTES:multitask {wildcards.n_train} {output.metrics}}"
    script:
        "../scripts/train.py"


rule train_single_task:
    input:
        data=DATA,
        numerics=NUMERICS,
    output:
        model=f"{STL_RUN}/model.keras",
        history=f"{STL_RUN}/history.csv",
        metrics=f"{STL_RUN}/metrics.json",
    log:
        f"{RESULTS}/logs/runs/single/{{task}}/n{{n_train}}/seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/runs/single/{{task}}/n{{n_train}}/seed{{seed}}.tsv"
    conda:
        "../envs/mtrl.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=60,
    params:
        run=single_task_params,
        backend=config["backend"],
    message:
        "{PLAN_NOTES:single {wildcards.task} {wildcards.n_train} {output.metrics}}"
    script:
        "../scripts/train.py"


rule train_single_task_network:
    input:
        data=DATA,
        numerics=NUMERICS,
    output:
        model=f"{STL_NETWORK_RUN}/model.keras",
        history=f"{STL_NETWORK_RUN}/history.csv",
        metrics=f"{STL_NETWORK_RUN}/metrics.json",
    log:
        f"{RESULTS}/logs/runs/single/{{task}}/n{{n_train}}/seed{{seed}}_net{{network}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/runs/single/{{task}}/n{{n_train}}/seed{{seed}}_net{{network}}.tsv"
    conda:
        "../envs/mtrl.yaml"
    # one single-task run's: what the profile sets for train_single_task (threads, memory, a GPU),
    # so that every network of a baseline trains where its network 0 does
    threads: group_threads("train_single_task")
    resources:
        **group_resources("train_single_task", None, runs=1),
    params:
        run=single_task_network_params,
        backend=config["backend"],
    message:
        "{PLAN_NOTES:single {wildcards.task} {wildcards.n_train} {output.metrics}}"
    script:
        "../scripts/train.py"
