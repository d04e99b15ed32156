# Scaling benchmark (not part of `rule all`): how linking, embedding and OCR costs grow with the data, on this
# machine. Run it with `snakemake --cores 2 scaling_benchmark`; it embeds with the trained default model when
# results/jp_firms/models/sup_multimodal/model.pt exists and says so in its table when it does not.


rule scaling_benchmark:
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
    params:
        model="results/jp_firms/models/sup_multimodal/model.pt",
    script:
        "../workflow_scripts/scaling_benchmark.py"
