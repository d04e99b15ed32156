# Stage 1: the benchmark (image crops, splits by entity) and the synthetic renders that fuel training.


rule generate_benchmark:
    output:
        records="results/{dataset}/data/records.csv",
        images=directory("results/{dataset}/data/images"),
        clean_images=directory("results/{dataset}/data/clean_images"),
    log:
        "logs/{dataset}/generate_benchmark.log",
    benchmark:
        "benchmarks/{dataset}/generate_benchmark.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        generate=generate_params,
    script:
        "../workflow_scripts/generate_benchmark.py"


rule synthetic_renders:
    input:
        records="results/{dataset}/data/records.csv",
    output:
        views="results/{dataset}/synthetic/views.parquet",
    log:
        "logs/{dataset}/synthetic_renders.log",
    benchmark:
        "benchmarks/{dataset}/synthetic_renders.tsv"
    conda:
        "../envs/data.yaml"
    threads: 8
    resources:
        mem_mb=5000,  # measured 3,018 MB peak in the default run (README)
        runtime=60,
    params:
        synthetic=synthetic_params,
        ocr=ocr_params,
    script:
        "../workflow_scripts/synthetic_renders.py"
