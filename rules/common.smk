import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "workflow_scripts"))
from clippings_wf.config_checks import check_config, pooled_variant, validate_config
from clippings_wf.kinds import kind_of, links
from clippings_wf.languages import applicable_baselines, ocr_settings
from clippings_wf.models.tower_kinds import (
    line_width,
    uses_photo_encoder,
    uses_recognizer,
)
from clippings_wf.ocr import recognizer
from clippings_wf.records import OCR_CONDITIONS
from clippings_wf.reporting.tables import PAPER_NEWS_ARI

# The schema (short messages naming each bad key, then its defaults filled in), then what it cannot express.
validate_config(config, Path(workflow.basedir) / "schemas" / "config.schema.yaml")
check_config(config)
# The recognizer's weights decide the modern OCR text and the default vision tower: checked before any job.
recognizer.check_model()

DATASETS = [name for name, d in config["datasets"].items() if d["enabled"]]
TRAINING = config["training"]
# The variant pooling both towers (check_config made sure there is one): name and w from config, nowhere else.
POOLED_VARIANT = pooled_variant(TRAINING["supervised"])
POOLED_W = TRAINING["supervised"]["variants"][POOLED_VARIANT]
SUPERVISED_VARIANTS = list(TRAINING["supervised"]["variants"])
if TRAINING.get("unimodal_vision", True):
    SUPERVISED_VARIANTS.append("unimodal_vision")
# Every trained model that gets embedded and linked.
LINKED_MODELS = ["selfsup"] + [f"sup_{v}" for v in SUPERVISED_VARIANTS]


def variant_weight_of(variant):
    if variant == "unimodal_vision":
        return 1.0
    return TRAINING["supervised"]["variants"][variant]


# The table's model rows: which trained model, linked with which pooling weight w of the image embedding.
# The self-supervised model is linked at every variant's w, as the supervised variants are trained.
MODEL_ROWS = [
    {"method": f"selfsup_{v}", "model": "selfsup", "w": w}
    for v, w in TRAINING["supervised"]["variants"].items()
] + [
    {"method": f"sup_{v}", "model": f"sup_{v}", "w": variant_weight_of(v)}
    for v in SUPERVISED_VARIANTS
]


wildcard_constraints:
    dataset="|".join(DATASETS),
    variant="|".join(SUPERVISED_VARIANTS),
    model="|".join(LINKED_MODELS),
    shard=r"\d+",


def dataset_config(wildcards):
    return config["datasets"][wildcards.dataset]


def pretrained_warm_start():
    """A pretrained CLIP replaces the synthetic tower warm-up (our stand-in for it)."""
    return config["model"]["pretrained"] != "none"


def record_kind(wildcards):
    """The dataset's kind of record (clippings_wf/kinds.py); check_config makes an evaluation-only dataset's that
    of its models' dataset."""
    return kind_of(dataset_config(wildcards))


def synthetic_stages(wildcards):
    """Whether the name renders (warm-ups, synthetic SupCon) train this dataset's models: text-line records."""
    return kind_of(config["datasets"][models_dataset(wildcards)]).synthetic_stages


def record_params(wildcards):
    """What train.py and embed_records.py need to know of the records: their kind and whether they link."""
    return {
        "kind": record_kind(wildcards).name,
        "links": links(dataset_config(wildcards)),
    }


def selfsup_init(wildcards):
    if pretrained_warm_start() or not synthetic_stages(wildcards):
        return []
    return f"results/{wildcards.dataset}/models/warmup_text/model.pt"


def finetune_init(wildcards):
    # The unimodal baseline starts from a vision tower that never saw language: the synthetic warm-up's, or
    # where a kind has none, the configured model itself.
    if wildcards.variant == "unimodal_vision":
        if not synthetic_stages(wildcards):
            return []
        return f"results/{wildcards.dataset}/models/warmup_vision/model.pt"
    return f"results/{wildcards.dataset}/models/selfsup/model.pt"


def labelled_init(wildcards):
    """The labelled stage continues the synthetic one, or where the records' kind has no renders, starts where
    the synthetic stage would have."""
    if synthetic_stages(wildcards):
        return f"results/{wildcards.dataset}/models/sup_{wildcards.variant}_synthetic/model.pt"
    return finetune_init(wildcards)


def variant_weight(wildcards):
    return variant_weight_of(wildcards.variant)


def linked_model_files(wildcards):
    return expand(
        "results/{dataset}/embeddings/{model}.npz",
        dataset=wildcards.dataset,
        model=LINKED_MODELS,
    )


# Sharded embedding and linking (config linking.shards, docs/deployment.md "Sharded linking"): with N > 1, N jobs
# per model each embed a 1/N slice of the records, and N jobs each link a 1/N slice of the queries against the
# reference indexes saved once per model; gather rules write the files one job writes when N is 1.
SHARDS = config["linking"]["shards"]
SHARD_NUMBERS = list(range(SHARDS))


def shard_number(wildcards):
    return int(wildcards.shard)


def embedding_shard_files(wildcards):
    return expand(
        "results/{dataset}/embeddings/shards/{model}/{shard}.npz",
        dataset=wildcards.dataset,
        model=wildcards.model,
        shard=SHARD_NUMBERS,
    )


def reference_index_files(wildcards):
    return expand(
        "results/{dataset}/linking/index/{model}.npz",
        dataset=wildcards.dataset,
        model=LINKED_MODELS,
    )


def link_shard_files(wildcards):
    return expand(
        "results/{dataset}/linking/shards/{shard}.parquet",
        dataset=wildcards.dataset,
        shard=SHARD_NUMBERS,
    )


def training_metrics(wildcards):
    stages = ["selfsup"] + [f"sup_{v}" for v in SUPERVISED_VARIANTS]
    if not pretrained_warm_start() and synthetic_stages(wildcards):
        stages = ["warmup_vision", "warmup_text"] + stages
    return expand(
        "results/{dataset}/models/{stage}/metrics.csv",
        dataset=wildcards.dataset,
        stage=stages,
    )


# Evaluation-only datasets (datasets.<name>.models_from): linked with the models another dataset trained, so
# no training rule ever runs for them (README "Off the training distribution").
EVALUATION_ONLY = {
    name: config["datasets"][name]["models_from"]
    for name in DATASETS
    if "models_from" in config["datasets"][name]
}


def models_dataset(wildcards):
    """The dataset whose trained models embed this dataset's records: itself, or its models_from."""
    return EVALUATION_ONLY.get(wildcards.dataset, wildcards.dataset)


def trained_model(wildcards):
    return f"results/{models_dataset(wildcards)}/models/{wildcards.model}/model.pt"


def dataset_targets(dataset):
    """A dataset's final outputs. An evaluation-only one has no training curves of its own and skips no-match
    and clustering (kept cheap); it compares its top-1 with its models' dataset instead. One evaluated by
    clustering alone (no references) has the clustering table and figures only: the linking tables do not apply.
    """
    linking = [
        "results/{dataset}/tables/main_results.csv",
        "results/{dataset}/tables/main_results.md",
        "results/{dataset}/tables/main_results.tex",
        "results/{dataset}/tables/orientation.md",
        "results/{dataset}/tables/findings.md",
        "results/{dataset}/tables/complementarity.md",
        "results/{dataset}/tables/reference_comparison.md",
        "results/{dataset}/figures/main_results.png",
    ]
    targets = [
        "results/{dataset}/figures/example_records.png",
        "results/{dataset}/figures/retrieval_gallery.png",
        "results/{dataset}/figures/embedding_map.png",
        "results/{dataset}/tables/resources.csv",
    ]
    clustering = [
        "results/{dataset}/tables/clustering.md",
        "results/{dataset}/figures/clustering.png",
    ]
    if not links(config["datasets"][dataset]):
        # the retrieval figures (one rule) show queries beside the references they retrieve
        targets = [
            t
            for t in targets
            if "retrieval_gallery" not in t and "embedding_map" not in t
        ]
        targets += [
            "results/{dataset}/figures/training_curves.png",
            "results/{dataset}/figures/cluster_gallery.png",
            "results/{dataset}/tables/clustering_comparisons.md",
        ] + clustering
    elif dataset in EVALUATION_ONLY:
        targets = linking + targets + ["results/{dataset}/tables/shift_comparison.md"]
    else:
        targets = (
            linking
            + targets
            + [
                "results/{dataset}/figures/training_curves.png",
                "results/{dataset}/tables/nomatch.md",
                "results/{dataset}/figures/nomatch_thresholds.png",
            ]
            + clustering
        )
    if dataset not in EVALUATION_ONLY:
        # every trained model's bundle (rules/export.smk): weights, tuned thresholds, model card
        targets += expand(
            "results/{{dataset}}/export/{model}/{file}",
            model=LINKED_MODELS,
            file=["model.pt", "bundle.json", "README.md"],
        )
    return expand(targets, dataset=dataset)


def all_targets():
    return [path for dataset in DATASETS for path in dataset_targets(dataset)]


# The export (rules/export.smk): per trained model, the weights, tuned thresholds and a model card.
TRAINED_DATASETS = [d for d in DATASETS if d not in EVALUATION_ONLY]


class StageWildcards(dict):
    """Wildcards for stage_params (above) outside a training job: a dict read by attribute."""

    __getattr__ = dict.__getitem__


def exported_method(wildcards):
    """The table row whose thresholds the bundle carries: a supervised model's own; selfsup's pooled row."""
    if wildcards.model == "selfsup":
        return f"selfsup_{POOLED_VARIANT}"
    return wildcards.model


def exported_stages(wildcards):
    """The training stages behind a linked model, first to last, chained as pretrain.smk and finetune.smk do."""
    synthetic = synthetic_stages(wildcards)
    selfsup = (["warmup_vision", "warmup_text"] if selfsup_init(wildcards) else []) + [
        "selfsup"
    ]
    if wildcards.model == "selfsup":
        return selfsup
    if wildcards.model == "sup_unimodal_vision":
        start = ["warmup_vision"] if synthetic else []
    else:
        start = selfsup
    return start + (["supcon_synthetic"] if synthetic else []) + ["supcon_labelled"]


def export_recipe(wildcards):
    """Each stage's recipe from config, as train.py received it (SupCon stages at the model's own w)."""
    recipe = []
    for stage in exported_stages(wildcards):
        keys = {"dataset": wildcards.dataset}
        if stage.startswith("supcon"):
            keys["variant"] = wildcards.model.removeprefix("sup_")
        recipe.append(stage_params(stage)(StageWildcards(keys)))
    return recipe


def export_params(wildcards):
    method = exported_method(wildcards)
    settings = dataset_config(wildcards)
    ocr = ocr_params(wildcards)
    return {
        "dataset": wildcards.dataset,
        "model": wildcards.model,
        "method": method,
        "w": next(row["w"] for row in MODEL_ROWS if row["method"] == method),
        "record_kind": record_kind(wildcards).name,
        "ocr": {"lang": ocr.get("lang"), "lang_vertical": ocr.get("lang_vertical")},
        "cluster_neighbours": EVALUATION["cluster_neighbours"],
        "architecture": model_params(wildcards)["architecture"],
        "data": {
            k: settings[k]
            for k in ("generate", "synthetic", "manifest")
            if k in settings and (k != "synthetic" or synthetic_stages(wildcards))
        },
        "recipe": export_recipe(wildcards),
        "training": {k: TRAINING[k] for k in ("seed", "batch_size")},
    }


def export_inputs(wildcards):
    """The weights, the clustering threshold and ARI (every trained dataset clusters), and for a linking dataset
    its no-match thresholds and the top-1 and no-match tables."""
    inputs = {
        "model": trained_model(wildcards),
        "cluster_thresholds": f"results/{wildcards.dataset}/clustering/models.csv",
        "clustering_table": f"results/{wildcards.dataset}/tables/clustering.csv",
    }
    if links(dataset_config(wildcards)):
        inputs |= {
            "nomatch_thresholds": f"results/{wildcards.dataset}/nomatch/thresholds.csv",
            "nomatch_table": f"results/{wildcards.dataset}/tables/nomatch.csv",
            "main_results": f"results/{wildcards.dataset}/tables/main_results.csv",
            "models_top1": f"results/{wildcards.dataset}/linking/top1.csv",
        }
    return inputs


def shift_comparison_tables(wildcards):
    """The main table of the models' own dataset (in distribution) and this evaluation-only dataset's."""
    return {
        "in_distribution": f"results/{models_dataset(wildcards)}/tables/main_results.csv",
        "shifted": f"results/{wildcards.dataset}/tables/main_results.csv",
    }


def generate_params(wildcards):
    return dataset_config(wildcards)["generate"]


def synthetic_params(wildcards):
    return dataset_config(wildcards)["synthetic"]


def dataset_language(wildcards):
    """ja | en: the dataset's script (fonts, name forms, OCR models, applicable baselines)."""
    dataset = dataset_config(wildcards)
    if "generate" in dataset:
        return dataset["generate"]["language"]
    return dataset.get("language", "ja")


def recognizer_width(wildcards):
    """Line width (pixels at height 48) the recognizer reads: the vision tower's input width when the tower is
    the recognizer's, else the dataset's ocr.recognizer_width."""
    architecture = model_params(wildcards)["architecture"]
    if uses_recognizer(architecture):
        return line_width(architecture)
    return dataset_config(wildcards)["ocr"]["recognizer_width"]


def ocr_params(wildcards):
    """Tesseract's languages, the OCR text cap, and whether it reads one line or a block (the record kind)."""
    settings = ocr_settings(
        dataset_language(wildcards), dataset_config(wildcards)["ocr"]
    )
    return settings | {"mode": record_kind(wildcards).ocr_mode}


def baseline_methods(wildcards):
    # The dataset's own list, else the global one; the stroke n-gram baseline reads CJK strokes only (the
    # table then has no such row).
    methods = dataset_config(wildcards).get("baselines", config["baselines"]["methods"])
    return applicable_baselines(dataset_language(wildcards), methods)


def model_params(wildcards):
    """The global model block with this dataset's own settings (e.g. its architecture) over it; an evaluation-only
    dataset's are those of the dataset whose models it uses."""
    return config["model"] | config["datasets"][models_dataset(wildcards)]["model"]


def paper_comparable(wildcards):
    """The paper's numbers are for Japanese firms in distribution: shown only beside a Japanese dataset that
    trains its own models (an evaluation-only one is compared with its models' dataset instead).
    """
    return (
        dataset_language(wildcards) == "ja" and wildcards.dataset not in EVALUATION_ONLY
    )


def paper_clustering(wildcards):
    """The paper's newspaper ARIs, beside the dataset that reproduces that application (news_wire's generator)."""
    generator = dataset_config(wildcards).get("generate", {}).get("generator")
    return PAPER_NEWS_ARI if generator == "news_wire" else {}


def reads_cached_features(wildcards):
    """A frozen recognizer tower trains on its cached features; other towers (and fine-tuning) read pixels."""
    settings = model_params(wildcards)
    return uses_recognizer(settings["architecture"]) and not settings.get(
        "finetune_encoder", False
    )


def training_inputs(wildcards):
    inputs = {
        "manifest": f"results/{wildcards.dataset}/data/manifest.csv",
        "vocab": f"results/{wildcards.dataset}/models/vocab.json",
    }
    if synthetic_stages(wildcards):
        inputs["views"] = f"results/{wildcards.dataset}/synthetic/views.parquet"
    if reads_cached_features(wildcards):
        inputs["features_records"] = f"results/{wildcards.dataset}/features/records.npz"
        inputs["features_views"] = f"results/{wildcards.dataset}/features/views.npz"
    elif uses_photo_encoder(model_params(wildcards)["architecture"]):
        inputs["features_records"] = photo_features_input(wildcards)
    return inputs


def photo_features_input(wildcards):
    """The photo front end's cached features of the records, where the vision tower is the photo tower."""
    if uses_photo_encoder(model_params(wildcards)["architecture"]):
        return f"results/{wildcards.dataset}/features/photos.npz"
    return []


def tower_features_input(wildcards):
    """What embed_records reads besides the manifest: the recognizer's or the photo front end's cached pass."""
    return photo_features_input(wildcards) or modern_ocr_input(wildcards)


def vocab_inputs(wildcards):
    """The tokenizer's characters: every OCR text of the records, and of the synthetic renders where there are."""
    inputs = {"manifest": f"results/{wildcards.dataset}/data/manifest.csv"}
    if synthetic_stages(wildcards):
        inputs["views"] = f"results/{wildcards.dataset}/synthetic/views.parquet"
    return inputs


def modern_ocr_input(wildcards):
    """The recognizer's pass (the `modern` OCR condition) where the records' kind is read by a line recognizer."""
    if record_kind(wildcards).modern_ocr:
        return f"results/{wildcards.dataset}/features/records.npz"
    return []


def stage_params(stage):
    """The training stage's recipe from config.yaml, as one plain dict for workflow_scripts/train.py."""
    supervised = TRAINING["supervised"]
    recipes = {
        "warmup_vision": {
            "objective": "views",
            "modality": "image",
            "data": "synthetic",
        }
        | TRAINING["warmup_vision"],
        "warmup_text": {"objective": "views", "modality": "text", "data": "synthetic"}
        | TRAINING["warmup_text"],
        # validated (epoch selection) on the pooled embedding at the pooled variant's w
        "selfsup": {"objective": "clip", "data": "pool+synthetic", "w": POOLED_W}
        | TRAINING["selfsup"],
        "supcon_synthetic": {
            "objective": "supcon",
            "data": "synthetic",
            "temperature": supervised["temperature"],
        }
        | supervised["synthetic"],
        "supcon_labelled": {
            "objective": "supcon",
            "data": "labelled",
            "temperature": supervised["temperature"],
        }
        | supervised["labelled"],
    }

    def params(wildcards):
        # A dataset may train a stage longer or at another rate (datasets.<name>.training.<stage>).
        own = dataset_config(wildcards).get("training", {}).get(stage, {})
        recipe = dict(recipes[stage] | own, stage=stage)
        if "variant" in wildcards.keys():
            recipe["w"] = variant_weight(wildcards)
        if recipe["data"] == "pool+synthetic" and not synthetic_stages(wildcards):
            recipe["data"] = "pool"
        return recipe

    return params


def reference_table(wildcards):
    """The committed copy of the default run's table (results/reference/), if this dataset has one."""
    return f"results/reference/{wildcards.dataset}/main_results.csv"


# No-match detection and clustering (rules/nomatch.smk, rules/cluster.smk).
EVALUATION = config["evaluation"]
# The methods drawn in the threshold-curve figures (those present are drawn).
FIGURE_METHODS = ["stroke_ngram", "tfidf_char"] + [
    f"sup_{v}"
    for v, w in TRAINING["supervised"]["variants"].items()
    if w == 0 or v == POOLED_VARIANT
]


# Datasets from your own manifest (README "Bring your own data"): an import step replaces the generator, and
# every later stage reads the same files (records.csv, then manifest.csv) as for a generated dataset.
GENERATED_DATASETS = [d for d in DATASETS if "generate" in config["datasets"][d]]
MANIFEST_DATASETS = [d for d in DATASETS if "manifest" in config["datasets"][d]]


def dataset_names_pattern(names):
    """A wildcard constraint matching exactly these dataset names (none: a pattern that never matches)."""
    return "|".join(re.escape(n) for n in names) or "(?!)"


def is_manifest_dataset(wildcards):
    return wildcards.dataset in MANIFEST_DATASETS


def manifest_file(wildcards):
    return dataset_config(wildcards)["manifest"]


def import_params(wildcards):
    dataset = dataset_config(wildcards)
    return {
        "split": dataset["split"],
        "ocr_columns": dataset["ocr"]["columns"],
        "max_ocr_chars": dataset["ocr"]["max_chars"],
        "references": links(dataset),
        "line_crops": kind_of(dataset).image == "line",
        "image_roots": dataset.get("image_roots", []),
        "max_image_pixels": dataset.get("max_image_pixels"),
    }


def ocr_inputs(wildcards):
    """A generated dataset's image folders are rule outputs; a manifest's images are the user's files."""
    records = f"results/{wildcards.dataset}/data/records.csv"
    if is_manifest_dataset(wildcards):
        return {"records": records}
    return {
        "records": records,
        "images": f"results/{wildcards.dataset}/data/images",
        "clean_images": f"results/{wildcards.dataset}/data/clean_images",
    }


def synthetic_records(wildcards):
    """A manifest entity's name may come from its OCR (README), so its synthetic stage waits for the OCR."""
    if is_manifest_dataset(wildcards):
        return f"results/{wildcards.dataset}/data/manifest.csv"
    return f"results/{wildcards.dataset}/data/records.csv"


def resource_report_inputs(wildcards):
    """Every other final output of the dataset, so that the report runs last and sees every benchmark."""
    return [
        path
        for path in all_targets()
        if f"results/{wildcards.dataset}/" in path
        and not path.endswith("resources.csv")
    ]


def benchmark_dir(wildcards):
    return f"benchmarks/{wildcards.dataset}"


def declared_mem_mb(wildcards):
    """Each rule's declared mem_mb at the first attempt (what a job that was not retried had)."""
    declared = {}
    for each in workflow.rules:
        mem_mb = each.resources.get("mem_mb")
        # snakemake 9 wraps it in a Resource, to be evaluated where it is a function (grows_with_attempt)
        if hasattr(mem_mb, "evaluate"):
            mem_mb = mem_mb.evaluate(wildcards, attempt=1).value
        if isinstance(mem_mb, (int, float)):
            declared[each.name] = int(mem_mb)
    return declared


# Cluster resources. A job killed for memory or wall time is resubmitted (profiles/slurm: `retries: 1`); asking
# again for the same would fail the same way, so every rule that runs as a cluster job declares its mem_mb and
# runtime through grows_with_attempt. Local runs are unaffected: they ignore runtime, and mem_mb limits nothing
# unless --resources mem_mb=... is given.
def grows_with_attempt(first):
    """A resource (mem_mb, runtime) that is `first` at the first attempt and `first * attempt` at each retry."""

    def at_attempt(wildcards, attempt):
        return first * attempt

    return at_attempt


# Small table, figure, report and export steps (seconds, small files): on a cluster they run where Snakemake runs
# (the login node) instead of waiting in the queue as jobs of their own.
localrules:
    main_table,
    compare_reference,
    shift_comparison,
    resource_report,
    nomatch_holdout,
    nomatch_table,
    clustering_table,
    clustering_comparisons,
    plot_examples,
    plot_training,
    plot_retrieval,
    plot_cluster_gallery,
    export_model,
