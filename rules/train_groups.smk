# With execution.replicates_per_job R > 1 (the Snakefile includes this file instead of train.smk):
# the study's seeds (a list, or a seeds rule's first..first+max-1) in consecutive groups of R, one
# training rule per group and kind, named by its seeds (train_multitask_seeds1_4,
# train_single_task_seed5; mtrl.seed_groups). A group's job trains its runs of one cell in one
# program (scripts/train_group.py, mtrl.job.run_group_job) and writes each run's usual folder, so
# everything downstream reads them as before; asking for one of its runs by path runs the group.
# Resources: one run's (as rules train_multitask and train_single_task, and the profile's values
# for those names) with memory and runtime once per run of the group (group_resources).
for group in SEED_GROUPS:
    mtl_resources = group_resources("train_multitask", group)
    stl_resources = group_resources("train_single_task", group)

    rule:
        name:
            f"train_multitask_{group.rule_suffix}"
        input:
            unpack(multitask_inputs),
        output:
            **group_outputs(MTL_RUN, group),
        log:
            f"{RESULTS}/logs/runs/{{coupling}}/{{sharing}}/n{{n_train}}/{group.file_stem}.log",
        benchmark:
            f"{RESULTS}/benchmarks/runs/{{coupling}}/{{sharing}}/n{{n_train}}/{group.file_stem}.tsv"
        conda:
            "../envs/mtrl.yaml"
        threads: group_threads("train_multitask")
        resources:
            **mtl_resources,
        params:
            run=multitask_cell_params,
            seeds=group_seeds,
            backend=config["backend"],
        message:
            group_message(MULTITASK, group, mtl_resources)
        script:
            "../scripts/train_group.py"

    rule:
        name:
            f"train_single_task_{group.rule_suffix}"
        input:
            data=DATA,
            numerics=NUMERICS,
        output:
            **group_outputs(STL_RUN, group),
        log:
            f"{RESULTS}/logs/runs/single/{{task}}/n{{n_train}}/{group.file_stem}.log",
        benchmark:
            f"{RESULTS}/benchmarks/runs/single/{{task}}/n{{n_train}}/{group.file_stem}.tsv"
        conda:
            "../envs/mtrl.yaml"
        threads: group_threads("train_single_task")
        resources:
            **stl_resources,
        params:
            run=single_task_cell_params,
            seeds=group_seeds,
            backend=config["backend"],
        message:
            group_message(SINGLE, group, stl_resources)
        script:
            "../scripts/train_group.py"

    # replicates.single_task_networks K > 1: the group's further networks of the target's
    # single-task baseline (networks 1..K-1 of each of its seeds), trained together in one job
    if TARGET_NETWORKS:
        net_resources = group_resources(
            "train_single_task", group, runs=len(group) * len(TARGET_NETWORKS)
        )

        rule:
            name:
                f"train_single_task_networks_{group.rule_suffix}"
            input:
                data=DATA,
                numerics=NUMERICS,
            output:
                **group_network_outputs(group),
            log:
                f"{RESULTS}/logs/runs/single/{{task}}/n{{n_train}}/{group.file_stem}_networks.log",
            benchmark:
                f"{RESULTS}/benchmarks/runs/single/{{task}}/n{{n_train}}/{group.file_stem}_networks.tsv"
            conda:
                "../envs/mtrl.yaml"
            threads: group_threads("train_single_task")
            resources:
                **net_resources,
            params:
                run=single_task_cell_params,
                networks=group_networks,
                backend=config["backend"],
            message:
                group_message(SINGLE, group, net_resources)
            script:
                "../scripts/train_group.py"
