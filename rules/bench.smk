# Scaling benchmark (not part of `rule all`): linking 10^3..10^6 queries against as many references with FAISS
# indexes beside the string tools practitioners use, and the embedding and OCR throughput, on this machine.
# Run it with `snakemake --cores 2 scaling_benchmark`; settings in bench/scaling.yaml. It times the trained models
# of a default run under results/ (the folder above its outputs') where there is one, else random-weight models.


rule scaling_benchmark:
    input:
        settings="bench/scaling.yaml",
    output:
        csv="results/benchmarks/scaling.csv",
        md="results/benchmarks/scaling.md",
        png=report(
            "results/benchmarks/scaling.png",
            caption="../report/scaling.rst",
            category="Scaling",
            labels={"figure": "linking time and memory against data size"},
        ),
    log:
        "logs/bench/scaling_benchmark.log",
    benchmark:
        "benchmarks/bench/scaling_benchmark.tsv"
    conda:
        "../envs/bench.yaml"
    threads: 8
    resources:
        mem_mb=grows_with_attempt(12000),
        runtime=grows_with_attempt(90),
    script:
        "../workflow_scripts/scaling_benchmark.py"
