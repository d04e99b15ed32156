# Stage 1: the records (a generated benchmark, or your own manifest imported) and the synthetic renders
# that fuel training.


rule generate_benchmark:
    output:
        records="results/{dataset}/data/records.csv",
        images=directory("results/{dataset}/data/images"),
        clean_images=directory("results/{dataset}/data/clean_images"),
    log:
        "logs/{dataset}/generate_benchmark.log",
    benchmark:
        "benchmarks/{dataset}/generate_benchmark.tsv"
    wildcard_constraints:
        dataset=dataset_names_pattern(GENERATED_DATASETS),
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=grows_with_attempt(2000),
        runtime=grows_with_attempt(30),
    params:
        generate=generate_params,
    script:
        "../workflow_scripts/generate_benchmark.py"


rule import_manifest:
    input:
        manifest=manifest_file,
    output:
        records="results/{dataset}/data/records.csv",
        # the image roots and pixel limit records.csv was checked with; later steps resolve its paths against it
        policy="results/{dataset}/data/image_policy.json",
        summary=report(
            "results/{dataset}/data/summary.csv",
            caption="../report/data_summary.rst",
            category="Data",
            labels={"dataset": "{dataset}", "table": "data summary"},
        ),
    log:
        "logs/{dataset}/import_manifest.log",
    benchmark:
        "benchmarks/{dataset}/import_manifest.tsv"
    wildcard_constraints:
        dataset=dataset_names_pattern(MANIFEST_DATASETS),
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=grows_with_attempt(2000),
        runtime=grows_with_attempt(30),
    params:
        settings=import_params,
    script:
        "../workflow_scripts/import_manifest.py"


rule synthetic_renders:
    input:
        records=synthetic_records,
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
        mem_mb=grows_with_attempt(5000),  # measured 3,018 MB peak in the 2026-11-24 default run (CHANGELOG)
        runtime=grows_with_attempt(60),
    params:
        synthetic=synthetic_params,
        ocr=ocr_params,
        literal_names=is_manifest_dataset,
        language=dataset_language,
    script:
        "../workflow_scripts/synthetic_renders.py"
