# Stage 3: string matching on the OCR text, the paper's baselines and character TF-IDF.


rule string_baselines:
    input:
        manifest="results/{dataset}/data/manifest.csv",
    output:
        top1="results/{dataset}/baselines/top1.csv",
        predictions="results/{dataset}/baselines/predictions.csv",
    log:
        "logs/{dataset}/string_baselines.log",
    benchmark:
        "benchmarks/{dataset}/string_baselines.tsv"
    conda:
        "../envs/baselines.yaml"
    threads: 8
    resources:
        mem_mb=grows_with_attempt(4000),
        runtime=grows_with_attempt(30),
    params:
        methods=baseline_methods,
        tfidf_ngram_ranges=config["baselines"]["tfidf_ngram_ranges"],
    script:
        "../workflow_scripts/run_baselines.py"
