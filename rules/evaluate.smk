# Stage 8: the paper's main table (rows = methods, columns = OCR conditions) and its comparison
# with the committed reference copy of the default run.


rule main_table:
    input:
        baselines="results/{dataset}/baselines/top1.csv",
        models="results/{dataset}/linking/top1.csv",
        quality="results/{dataset}/data/ocr_quality.csv",
        baseline_predictions="results/{dataset}/baselines/predictions.csv",
        model_predictions="results/{dataset}/linking/predictions.csv",
        manifest="results/{dataset}/data/manifest.csv",
    output:
        csv=report(
            "results/{dataset}/tables/main_results.csv",
            caption="../report/main_results.rst",
            category="Results",
            labels={"dataset": "{dataset}", "table": "main results (csv)"},
        ),
        md="results/{dataset}/tables/main_results.md",
        tex="results/{dataset}/tables/main_results.tex",
        orientation=report(
            "results/{dataset}/tables/orientation.csv",
            caption="../report/orientation.rst",
            category="Results",
            labels={"dataset": "{dataset}", "table": "top-1 by orientation (csv)"},
        ),
        orientation_md="results/{dataset}/tables/orientation.md",
        orientation_tex="results/{dataset}/tables/orientation.tex",
        findings=report(
            "results/{dataset}/tables/findings.csv",
            caption="../report/findings.rst",
            category="Results",
            labels={"dataset": "{dataset}", "table": "the paper's findings (csv)"},
        ),
        findings_md="results/{dataset}/tables/findings.md",
        findings_tex="results/{dataset}/tables/findings.tex",
        complementarity=report(
            "results/{dataset}/tables/complementarity.csv",
            caption="../report/complementarity.rst",
            category="Results",
            labels={
                "dataset": "{dataset}",
                "table": "vision and language right (csv)",
            },
        ),
        complementarity_md="results/{dataset}/tables/complementarity.md",
        complementarity_tex="results/{dataset}/tables/complementarity.tex",
        figure=report(
            "results/{dataset}/figures/main_results.png",
            caption="../report/main_results_figure.rst",
            category="Results",
            labels={"dataset": "{dataset}", "figure": "top-1 accuracy"},
        ),
        figure_pdf="results/{dataset}/figures/main_results.pdf",
    log:
        "logs/{dataset}/main_table.log",
    conda:
        "../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        paper_comparable=paper_comparable,
    script:
        "../workflow_scripts/make_tables.py"


rule compare_reference:
    input:
        table="results/{dataset}/tables/main_results.csv",
    output:
        comparison=report(
            "results/{dataset}/tables/reference_comparison.md",
            caption="../report/reference_comparison.rst",
            category="Results",
            labels={
                "dataset": "{dataset}",
                "table": "comparison with the reference run",
            },
        ),
    log:
        "logs/{dataset}/compare_reference.log",
    conda:
        "../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        reference=reference_table,
        # Only where the reference table has no interval columns (values are otherwise judged by interval overlap).
        tolerance=0.03,
    script:
        "../workflow_scripts/compare_reference.py"


# An evaluation-only dataset (models_from) beside the dataset its models were trained on.
rule shift_comparison:
    input:
        unpack(shift_comparison_tables),
    output:
        csv=report(
            "results/{dataset}/tables/shift_comparison.csv",
            caption="../report/shift_comparison.rst",
            category="Results",
            labels={"dataset": "{dataset}", "table": "in distribution vs shifted"},
        ),
        md="results/{dataset}/tables/shift_comparison.md",
        tex="results/{dataset}/tables/shift_comparison.tex",
    log:
        "logs/{dataset}/shift_comparison.log",
    wildcard_constraints:
        dataset=dataset_names_pattern(EVALUATION_ONLY),
    conda:
        "../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        in_distribution=models_dataset,
    script:
        "../workflow_scripts/shift_comparison.py"


# Peak memory of every benchmarked job (benchmarks/) against its rule's declared mem_mb.
rule resource_report:
    input:
        resource_report_inputs,
    output:
        csv=report(
            "results/{dataset}/tables/resources.csv",
            caption="../report/resources.rst",
            category="Results",
            labels={"dataset": "{dataset}", "table": "peak memory per rule"},
        ),
        md="results/{dataset}/tables/resources.md",
    log:
        "logs/{dataset}/resource_report.log",
    conda:
        "../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        benchmarks=benchmark_dir,
        declared=declared_mem_mb,
    script:
        "../workflow_scripts/resource_report.py"
