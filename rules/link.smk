# Stage 7: link each test query to its nearest reference (FAISS inner product on the pooled embedding),
# for every table row: SelfSup, unimodal ViT and Sup variants, on both OCR conditions. With linking.shards: N > 1,
# each model's reference indexes are saved once, N jobs each search a slice of the val and test queries in them,
# and a gather job writes the same top-1 table and predictions (w tuned on val from every shard's results).

if SHARDS == 1:

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

else:

    rule link_index:
        input:
            manifest="results/{dataset}/data/manifest.csv",
            embeddings="results/{dataset}/embeddings/{model}.npz",
        output:
            index="results/{dataset}/linking/index/{model}.npz",
        log:
            "logs/{dataset}/link_index_{model}.log",
        benchmark:
            "benchmarks/{dataset}/link_index_{model}.tsv"
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
            "../workflow_scripts/link_index.py"

    rule link_records:
        input:
            manifest="results/{dataset}/data/manifest.csv",
            embeddings=linked_model_files,
            indexes=reference_index_files,
        output:
            hits="results/{dataset}/linking/shards/{shard}.parquet",
        log:
            "logs/{dataset}/link_records_shard{shard}.log",
        benchmark:
            "benchmarks/{dataset}/link_records_shard{shard}.tsv"
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
            shards=SHARDS,
            shard=shard_number,
        script:
            "../workflow_scripts/link_query_shard.py"

    rule gather_links:
        input:
            manifest="results/{dataset}/data/manifest.csv",
            embeddings=linked_model_files,
            hits=link_shard_files,
        output:
            top1="results/{dataset}/linking/top1.csv",
            predictions="results/{dataset}/linking/predictions.csv",
        log:
            "logs/{dataset}/gather_links.log",
        benchmark:
            "benchmarks/{dataset}/gather_links.tsv"
        conda:
            "../envs/torch.yaml"
        threads: 1
        resources:
            mem_mb=grows_with_attempt(4000),
            runtime=grows_with_attempt(10),
        params:
            rows=MODEL_ROWS,
            tuned_w_model=f"sup_{POOLED_VARIANT}",
        script:
            "../workflow_scripts/gather_links.py"
