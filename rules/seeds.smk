# With a seeds rule (seeds: {initial, max, target_halfwidth}): after the initial seeds, measure each
# cell's paired spread and decide the seeds of every training size (Stein's two-stage rule,
# mtrl.stats.seed_rule). A checkpoint: the runs of the added seeds are known once it has run.
# With replicate groups (execution.replicates_per_job > 1) each size's seeds are rounded up to whole
# groups (at most max): the jobs train whole groups, and the statistics use every seed trained.
checkpoint plan_seeds:
    input:
        metrics=multitask_runs("metrics.json", initial_seeds())
        + single_task_runs("metrics.json", initial_seeds())
        + target_network_runs("metrics.json", initial_seeds()),
        plan=PLAN,
    output:
        seeds=report(
            SEEDS_PLAN,
            caption="../report/seeds.rst",
            category="Answers",
            labels={"table": "seeds per training size"},
        ),
    log:
        f"{RESULTS}/logs/plan_seeds.log",
    benchmark:
        f"{RESULTS}/benchmarks/plan_seeds.tsv"
    conda:
        "../envs/mtrl.yaml"
    params:
        **seed_plan_grouping(),
        target=config["target"],
        seeds=config["seeds"],
        sizes=config["train_sizes"],
        metric=config["findings"]["metric"],
        alpha=config["findings"]["alpha"],
    script:
        "../scripts/plan_seeds.py"
