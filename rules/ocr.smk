# Stage 2: Tesseract OCR of every record, on the degraded crop (noisy) and on an undegraded render (clean).


rule ocr_records:
    input:
        unpack(ocr_inputs),
        modern=modern_ocr_input,
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
        mem_mb=grows_with_attempt(3000),
        runtime=grows_with_attempt(60),
    params:
        ocr=ocr_params,
    script:
        "../workflow_scripts/ocr_records.py"


# The pretrained text-line recognizer (PP-OCRv6 small, from the rapidocr wheel), one pass per crop: its text is
# the `modern` OCR condition, its sequence features the frozen vision encoder's output, cached for training.
rule recognize_records:
    input:
        unpack(ocr_inputs),
    output:
        features="results/{dataset}/features/records.npz",
    log:
        "logs/{dataset}/recognize_records.log",
    benchmark:
        "benchmarks/{dataset}/recognize_records.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 8
    resources:
        mem_mb=grows_with_attempt(8000),  # 4.7-5.3 GB peak measured (onnxruntime arenas, 2 workers, batches of 64 lines)
        runtime=grows_with_attempt(60),
    params:
        width=recognizer_width,
    script:
        "../workflow_scripts/recognize_lines.py"


rule recognize_views:
    input:
        views="results/{dataset}/synthetic/views.parquet",
    output:
        features=temp("results/{dataset}/features/views.npz"),
    log:
        "logs/{dataset}/recognize_views.log",
    benchmark:
        "benchmarks/{dataset}/recognize_views.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 8
    resources:
        mem_mb=grows_with_attempt(8000),  # 4.7-5.3 GB peak measured (onnxruntime arenas, 2 workers, batches of 64 lines)
        runtime=grows_with_attempt(60),
    params:
        width=recognizer_width,
    script:
        "../workflow_scripts/recognize_lines.py"


# The photo tower's fixed front end (the low DCT frequencies of the descreened photo), one pass per photo, cached
# for training and embedding.
rule encode_photos:
    input:
        unpack(ocr_inputs),
    output:
        features="results/{dataset}/features/photos.npz",
    log:
        "logs/{dataset}/encode_photos.log",
    benchmark:
        "benchmarks/{dataset}/encode_photos.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 8
    resources:
        mem_mb=grows_with_attempt(4000),
        runtime=grows_with_attempt(60),
    script:
        "../workflow_scripts/encode_photos.py"
