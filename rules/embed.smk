# Stage 6: embed every evaluation record (validation and test queries, all references) with a trained model:
# the image tower once, the text tower on each OCR condition. With linking.shards: N > 1, N jobs per model each
# embed a slice of the records cut at batch boundaries (the same batches, so the same bits), and a gather job
# writes the one embeddings file.

if SHARDS == 1:

    rule embed_records:
        input:
            manifest="results/{dataset}/data/manifest.csv",
            model=trained_model,  # an evaluation-only dataset's: results/<models_from>/models/{model}/model.pt
            features=tower_features_input,  # the recognizer's or photo encoder's cached pass, where the tower reads it
        output:
            embeddings="results/{dataset}/embeddings/{model}.npz",
        log:
            "logs/{dataset}/embed_records_{model}.log",
        benchmark:
            "benchmarks/{dataset}/embed_records_{model}.tsv"
        conda:
            "../envs/torch.yaml"
        threads: 8
        resources:
            gpu=1,
            mem_mb=grows_with_attempt(6000),
            runtime=grows_with_attempt(30),
        params:
            device=config["model"]["device"],
            batch_size=TRAINING["eval_batch_size"],
            records=record_params,
        script:
            "../workflow_scripts/embed_records.py"

else:

    rule embed_records:
        input:
            manifest="results/{dataset}/data/manifest.csv",
            model=trained_model,
            features=tower_features_input,
        output:
            embeddings="results/{dataset}/embeddings/shards/{model}/{shard}.npz",
        log:
            "logs/{dataset}/embed_records_{model}_shard{shard}.log",
        benchmark:
            "benchmarks/{dataset}/embed_records_{model}_shard{shard}.tsv"
        conda:
            "../envs/torch.yaml"
        threads: 8
        resources:
            gpu=1,
            mem_mb=grows_with_attempt(6000),
            runtime=grows_with_attempt(30),
        params:
            device=config["model"]["device"],
            batch_size=TRAINING["eval_batch_size"],
            records=record_params,
            shards=SHARDS,
            shard=shard_number,
        script:
            "../workflow_scripts/embed_records.py"

    rule gather_embeddings:
        input:
            shards=embedding_shard_files,
        output:
            embeddings="results/{dataset}/embeddings/{model}.npz",
        log:
            "logs/{dataset}/gather_embeddings_{model}.log",
        benchmark:
            "benchmarks/{dataset}/gather_embeddings_{model}.tsv"
        conda:
            "../envs/torch.yaml"
        threads: 1
        resources:
            mem_mb=grows_with_attempt(4000),
            runtime=grows_with_attempt(10),
        script:
            "../workflow_scripts/gather_embeddings.py"
