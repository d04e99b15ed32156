# Stage 7: link each test query to its nearest reference (FAISS inner product on the pooled embedding),
# for every table row: SelfSup, unimodal ViT and Sup variants, on both OCR conditions.


rule link_records:
    input:
        manifest="results/{dataset}/data/manifest.csv",
        embeddings=linked_model_files,
    output:
        top1="results/{dataset}/linking/top1.csv",
        predictions="results/{dataset}/linking/predictions.csv",
    log:
        "logs/{dataset}/link_records.log",
    benchmark:
        "benchmarks/{dataset}/link_records.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 8
    resources:
        mem_mb=grows_with_attempt(6000),
        runtime=grows_with_attempt(30),
    params:
        rows=MODEL_ROWS,
        tuned_w_model=f"sup_{POOLED_VARIANT}",
        linking=config["linking"],
    script:
        "../workflow_scripts/link_records.py"
