# Stage 5: supervised contrastive fine-tuning (SupCon) of the pooled embedding normalize(w*img + (1-w)*txt),
# first on synthetic renders (views of one name share a label), then on the labelled training split with
# m records per entity per batch and hard negatives mined from the current model.


rule supcon_synthetic:
    input:
        unpack(training_inputs),
        init=finetune_init,
    output:
        model="results/{dataset}/models/sup_{variant}_synthetic/model.pt",
        metrics="results/{dataset}/models/sup_{variant}_synthetic/metrics.csv",
    log:
        "logs/{dataset}/supcon_synthetic_{variant}.log",
    benchmark:
        "benchmarks/{dataset}/supcon_synthetic_{variant}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 8
    resources:
        gpu=1,
        mem_mb=grows_with_attempt(8000),
        runtime=grows_with_attempt(120),
    params:
        stage=stage_params("supcon_synthetic"),
        model=model_params,
        training=TRAINING,
        records=record_params,
    script:
        "../workflow_scripts/train.py"


rule supcon_labelled:
    input:
        unpack(training_inputs),
        init=labelled_init,
    output:
        model="results/{dataset}/models/sup_{variant}/model.pt",
        metrics="results/{dataset}/models/sup_{variant}/metrics.csv",
    log:
        "logs/{dataset}/supcon_labelled_{variant}.log",
    benchmark:
        "benchmarks/{dataset}/supcon_labelled_{variant}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 8
    resources:
        gpu=1,
        mem_mb=grows_with_attempt(8000),
        runtime=grows_with_attempt(120),
    params:
        stage=stage_params("supcon_labelled"),
        model=model_params,
        training=TRAINING,
        records=record_params,
    script:
        "../workflow_scripts/train.py"
