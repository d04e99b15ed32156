# Stage 9: figures a reader would rather look at than read, all in `snakemake --report`.


rule plot_examples:
    input:
        manifest="results/{dataset}/data/manifest.csv",
    output:
        png=report(
            "results/{dataset}/figures/example_records.png",
            caption="../report/example_records.rst",
            category="Data",
            labels={"dataset": "{dataset}", "figure": "example records"},
        ),
        pdf="results/{dataset}/figures/example_records.pdf",
    log:
        "logs/{dataset}/plot_examples.log",
    conda:
        "../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        seed=0,
    script:
        "../workflow_scripts/plot_examples.py"


rule plot_training:
    input:
        metrics=training_metrics,
    output:
        png=report(
            "results/{dataset}/figures/training_curves.png",
            caption="../report/training_curves.rst",
            category="Training",
            labels={"dataset": "{dataset}", "figure": "training curves"},
        ),
    log:
        "logs/{dataset}/plot_training.log",
    conda:
        "../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../workflow_scripts/plot_training.py"


rule plot_retrieval:
    input:
        manifest="results/{dataset}/data/manifest.csv",
        embeddings=f"results/{{dataset}}/embeddings/sup_{POOLED_VARIANT}.npz",
    output:
        gallery=report(
            "results/{dataset}/figures/retrieval_gallery.png",
            caption="../report/retrieval_gallery.rst",
            category="Linking",
            labels={"dataset": "{dataset}", "figure": "retrieval gallery"},
        ),
        embedding_map=report(
            "results/{dataset}/figures/embedding_map.png",
            caption="../report/embedding_map.rst",
            category="Linking",
            labels={"dataset": "{dataset}", "figure": "embedding map"},
        ),
    log:
        "logs/{dataset}/plot_retrieval.log",
    conda:
        "../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        w=POOLED_W,
        gallery_queries=config["report"]["gallery_queries"],
        map_entities=config["report"]["map_entities"],
    script:
        "../workflow_scripts/plot_retrieval.py"


# A dataset evaluated by clustering: the pooled model's test clusters, each printing's photo with its OCR'd caption.
rule plot_cluster_gallery:
    input:
        manifest="results/{dataset}/data/manifest.csv",
        assignments="results/{dataset}/clustering/models_assignments.csv",
    output:
        png=report(
            "results/{dataset}/figures/cluster_gallery.png",
            caption="../report/cluster_gallery.rst",
            category="Results",
            labels={"dataset": "{dataset}", "figure": "cluster gallery"},
        ),
        pdf="results/{dataset}/figures/cluster_gallery.pdf",
    log:
        "logs/{dataset}/plot_cluster_gallery.log",
    conda:
        "../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        method=f"sup_{POOLED_VARIANT}",
        seed=0,
    script:
        "../workflow_scripts/plot_cluster_gallery.py"
