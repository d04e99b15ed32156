# Stage 2: Tesseract OCR of every record, on the degraded crop (noisy) and on an undegraded render (clean).


rule ocr_records:
    input:
        unpack(ocr_inputs),
    output:
        manifest="results/{dataset}/data/manifest.csv",
        quality=report(
            "results/{dataset}/data/ocr_quality.csv",
            caption="../report/ocr_quality.rst",
            category="Data",
            labels={"dataset": "{dataset}", "table": "OCR character error rate"},
        ),
    log:
        "logs/{dataset}/ocr_records.log",
    benchmark:
        "benchmarks/{dataset}/ocr_records.tsv"
    conda:
        "../envs/data.yaml"
    threads: 8
    resources:
        mem_mb=3000,
        runtime=60,
    params:
        ocr=ocr_params,
    script:
        "../workflow_scripts/ocr_records.py"
