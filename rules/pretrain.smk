# Stage 4: pretraining. Tower warm-up on synthetic renders (stand-in for a pretrained CLIP), then the
# paper's self-supervised image-OCR alignment with CLIP's symmetric InfoNCE.


rule build_vocab:
    input:
        unpack(vocab_inputs),
    output:
        vocab="results/{dataset}/models/vocab.json",
    log:
        "logs/{dataset}/build_vocab.log",
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=grows_with_attempt(2000),
        runtime=grows_with_attempt(10),
    script:
        "../workflow_scripts/build_vocab.py"


rule warmup_vision:
    input:
        unpack(training_inputs),
    output:
        model="results/{dataset}/models/warmup_vision/model.pt",
        metrics="results/{dataset}/models/warmup_vision/metrics.csv",
    log:
        "logs/{dataset}/warmup_vision.log",
    benchmark:
        "benchmarks/{dataset}/warmup_vision.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 8
    resources:
        gpu=1,
        mem_mb=grows_with_attempt(8000),
        runtime=grows_with_attempt(120),
    params:
        stage=stage_params("warmup_vision"),
        model=model_params,
        training=TRAINING,
        records=record_params,
    script:
        "../workflow_scripts/train.py"


rule warmup_text:
    input:
        unpack(training_inputs),
        init="results/{dataset}/models/warmup_vision/model.pt",
    output:
        model="results/{dataset}/models/warmup_text/model.pt",
        metrics="results/{dataset}/models/warmup_text/metrics.csv",
    log:
        "logs/{dataset}/warmup_text.log",
    benchmark:
        "benchmarks/{dataset}/warmup_text.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 8
    resources:
        gpu=1,
        mem_mb=grows_with_attempt(8000),
        runtime=grows_with_attempt(60),
    params:
        stage=stage_params("warmup_text"),
        model=model_params,
        training=TRAINING,
        records=record_params,
    script:
        "../workflow_scripts/train.py"


rule align_selfsup:
    input:
        unpack(training_inputs),
        init=selfsup_init,
    output:
        model="results/{dataset}/models/selfsup/model.pt",
        metrics="results/{dataset}/models/selfsup/metrics.csv",
    log:
        "logs/{dataset}/align_selfsup.log",
    benchmark:
        "benchmarks/{dataset}/align_selfsup.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 8
    resources:
        gpu=1,
        mem_mb=grows_with_attempt(8000),
        runtime=grows_with_attempt(120),
    params:
        stage=stage_params("selfsup"),
        model=model_params,
        training=TRAINING,
        records=record_params,
    script:
        "../workflow_scripts/train.py"
