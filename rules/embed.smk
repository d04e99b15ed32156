# Stage 6: embed every evaluation record (validation and test queries, all references) with a trained model:
# the image tower once, the text tower on each OCR condition.


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
