# Stage 10: export. Per trained model, a bundle for the API and the CLI: the weights (a copy: nothing upstream
# reruns), its tuned no-match and clustering thresholds (bundle.json) and a model card (README.md). Evaluation-only
# datasets (models_from) train no models and export none.


rule export_model:
    input:
        unpack(export_inputs),
    output:
        model="results/{dataset}/export/{model}/model.pt",
        bundle="results/{dataset}/export/{model}/bundle.json",
        card="results/{dataset}/export/{model}/README.md",
    log:
        "logs/{dataset}/export_{model}.log",
    wildcard_constraints:
        dataset=dataset_names_pattern(TRAINED_DATASETS),
    conda:
        "../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        export=export_params,
    script:
        "../workflow_scripts/export_model.py"
