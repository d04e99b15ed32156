# Stage 7c: clustering with the adjusted Rand index (the paper's newspaper evaluation). Single linkage on each
# method's similarity over all test records (queries and references), as connected components of a kNN graph
# with the edges at or above a threshold tuned on the validation records.


rule cluster_models:
    input:
        manifest="results/{dataset}/data/manifest.csv",
        embeddings=linked_model_files,
    output:
        summary="results/{dataset}/clustering/models.csv",
        curves="results/{dataset}/clustering/model_curves.csv",
        assignments="results/{dataset}/clustering/models_assignments.csv",
    log:
        "logs/{dataset}/cluster_models.log",
    benchmark:
        "benchmarks/{dataset}/cluster_models.tsv"
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
        neighbours=EVALUATION["cluster_neighbours"],
        grid_size=EVALUATION["cluster_threshold_grid"],
        # a dataset evaluated by clustering alone (records: not links) also gets the sibling top-1
        records=record_params,
    script:
        "../workflow_scripts/cluster_records.py"


rule cluster_baselines:
    input:
        manifest="results/{dataset}/data/manifest.csv",
    output:
        summary="results/{dataset}/clustering/baselines.csv",
        curves="results/{dataset}/clustering/baseline_curves.csv",
        assignments="results/{dataset}/clustering/baselines_assignments.csv",
    log:
        "logs/{dataset}/cluster_baselines.log",
    benchmark:
        "benchmarks/{dataset}/cluster_baselines.tsv"
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
        neighbours=EVALUATION["cluster_neighbours"],
        grid_size=EVALUATION["cluster_threshold_grid"],
        # a dataset evaluated by clustering alone (records: not links) also gets the sibling top-1
        records=record_params,
    script:
        "../workflow_scripts/cluster_records.py"


rule clustering_table:
    input:
        models="results/{dataset}/clustering/models.csv",
        baselines="results/{dataset}/clustering/baselines.csv",
        model_curves="results/{dataset}/clustering/model_curves.csv",
        baseline_curves="results/{dataset}/clustering/baseline_curves.csv",
    output:
        csv=report(
            "results/{dataset}/tables/clustering.csv",
            caption="../report/clustering.rst",
            category="Results",
            labels={"dataset": "{dataset}", "table": "clustering ARI (csv)"},
        ),
        md="results/{dataset}/tables/clustering.md",
        tex="results/{dataset}/tables/clustering.tex",
        figure=report(
            "results/{dataset}/figures/clustering.png",
            caption="../report/clustering_figure.rst",
            category="Results",
            labels={"dataset": "{dataset}", "figure": "clustering ARI"},
        ),
        figure_pdf="results/{dataset}/figures/clustering.pdf",
    log:
        "logs/{dataset}/clustering_table.log",
    conda:
        "../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        neighbours=EVALUATION["cluster_neighbours"],
        figure_methods=FIGURE_METHODS,
        paper=paper_clustering,
    script:
        "../workflow_scripts/clustering_table.py"


# The paper's claim on clustering: the pooled multimodal model against every other method, each difference with
# a paired interval (the same test entities drawn for both methods).
rule clustering_comparisons:
    input:
        manifest="results/{dataset}/data/manifest.csv",
        models="results/{dataset}/clustering/models_assignments.csv",
        baselines="results/{dataset}/clustering/baselines_assignments.csv",
    output:
        csv=report(
            "results/{dataset}/tables/clustering_comparisons.csv",
            caption="../report/clustering_comparisons.rst",
            category="Results",
            labels={
                "dataset": "{dataset}",
                "table": "clustering ARI differences (csv)",
            },
        ),
        md="results/{dataset}/tables/clustering_comparisons.md",
        tex="results/{dataset}/tables/clustering_comparisons.tex",
    log:
        "logs/{dataset}/clustering_comparisons.log",
    conda:
        "../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        pooled=f"sup_{POOLED_VARIANT}",
    script:
        "../workflow_scripts/clustering_comparisons.py"
