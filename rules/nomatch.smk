# Stage 7b: no-match detection (the paper's supplementary evaluation). A seeded fraction of the val and test
# entities lose their reference for this evaluation, so their queries have no match; each method links a query
# only when its top-1 similarity exceeds a threshold tuned on val, and is scored on test.


rule nomatch_holdout:
    input:
        manifest="results/{dataset}/data/manifest.csv",
    output:
        holdout="results/{dataset}/nomatch/holdout.csv",
    log:
        "logs/{dataset}/nomatch_holdout.log",
    conda:
        "../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        fraction=EVALUATION["nomatch_fraction"],
        seed=EVALUATION["seed"],
    script:
        "../workflow_scripts/nomatch_holdout.py"


rule nomatch_model_scores:
    input:
        manifest="results/{dataset}/data/manifest.csv",
        holdout="results/{dataset}/nomatch/holdout.csv",
        embeddings=linked_model_files,
    output:
        scores="results/{dataset}/nomatch/model_scores.csv",
    log:
        "logs/{dataset}/nomatch_model_scores.log",
    benchmark:
        "benchmarks/{dataset}/nomatch_model_scores.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 2
    resources:
        mem_mb=grows_with_attempt(4000),
        runtime=grows_with_attempt(20),
    params:
        group="model",
        rows=MODEL_ROWS,
        linking=config["linking"],
    script:
        "../workflow_scripts/nomatch_scores.py"


rule nomatch_baseline_scores:
    input:
        manifest="results/{dataset}/data/manifest.csv",
        holdout="results/{dataset}/nomatch/holdout.csv",
    output:
        scores="results/{dataset}/nomatch/baseline_scores.csv",
    log:
        "logs/{dataset}/nomatch_baseline_scores.log",
    benchmark:
        "benchmarks/{dataset}/nomatch_baseline_scores.tsv"
    conda:
        "../envs/baselines.yaml"
    threads: 8
    resources:
        mem_mb=grows_with_attempt(4000),
        runtime=grows_with_attempt(30),
    params:
        group="classical",
        methods=baseline_methods,
        tfidf_ngram_ranges=config["baselines"]["tfidf_ngram_ranges"],
    script:
        "../workflow_scripts/nomatch_scores.py"


rule nomatch_table:
    input:
        holdout="results/{dataset}/nomatch/holdout.csv",
        models="results/{dataset}/nomatch/model_scores.csv",
        baselines="results/{dataset}/nomatch/baseline_scores.csv",
    output:
        thresholds="results/{dataset}/nomatch/thresholds.csv",
        curves="results/{dataset}/nomatch/curves.csv",
        csv=report(
            "results/{dataset}/tables/nomatch.csv",
            caption="../report/nomatch.rst",
            category="Results",
            labels={"dataset": "{dataset}", "table": "no-match detection (csv)"},
        ),
        md="results/{dataset}/tables/nomatch.md",
        tex="results/{dataset}/tables/nomatch.tex",
        figure=report(
            "results/{dataset}/figures/nomatch_thresholds.png",
            caption="../report/nomatch_thresholds.rst",
            category="Results",
            labels={"dataset": "{dataset}", "figure": "no-match threshold curves"},
        ),
        figure_pdf="results/{dataset}/figures/nomatch_thresholds.pdf",
    log:
        "logs/{dataset}/nomatch_table.log",
    conda:
        "../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        figure_methods=FIGURE_METHODS,
    script:
        "../workflow_scripts/nomatch_table.py"
