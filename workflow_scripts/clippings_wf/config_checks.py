"""Checks on config.yaml that its JSON schema cannot express; they run before any job starts."""

from __future__ import annotations

import difflib
import re
import importlib.util
from pathlib import Path

from clippings_wf.ocr import tesseract
from clippings_wf.kinds import kind_of, links
from clippings_wf.languages import OCR_MODELS, ocr_settings

OUR_MODEL_CONFIGS = Path(__file__).parent / "models" / "model_configs"


class ConfigError(ValueError):
    pass


def _key_path(error) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "(top level)"


def _describe(error) -> str:
    """One line per schema violation: the key path, what is wrong, and what is allowed."""
    where, value, kind = _key_path(error), error.validator_value, error.validator
    if kind == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        keys = ", ".join(f"{where}.{k}" if error.absolute_path else k for k in extra)
        return f"{keys}: unknown key (allowed here: {', '.join(allowed) or 'none'})"
    if kind == "required":
        missing = [k for k in value if k not in error.instance]
        keys = ", ".join(f"{where}.{k}" if error.absolute_path else k for k in missing)
        return f"{keys}: required key missing"
    if kind == "type":
        return f"{where}: {error.instance!r} is not of type {value}"
    if kind == "enum":
        return f"{where}: {error.instance!r} is not allowed (allowed: {', '.join(map(str, value))})"
    bounds = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<",
              "minItems": "at least", "maxItems": "at most", "minProperties": "at least"}  # fmt: skip
    if kind in bounds:
        return f"{where}: {error.instance!r} is out of range (allowed: {bounds[kind]} {value})"
    return f"{where}: {error.message}"


def validate_config(config: dict, schema_path) -> None:
    """Validate against the JSON schema with short messages naming each bad key, then fill the defaults.

    snakemake.utils.validate alone reports the first error with the whole schema and config dumped after it
    (several KB); we list every error in one line each, then let it fill the schema's defaults.
    """
    import jsonschema
    import yaml
    from snakemake.utils import validate

    schema = yaml.safe_load(Path(schema_path).read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        raise ConfigError("invalid config:\n  " + "\n  ".join(dict.fromkeys(map(_describe, errors))))
    validate(config, schema=str(schema_path))


def known_architectures() -> list[str]:
    """Ours and open_clip's model configs, read from disk so the check needs no torch import."""
    names = {p.stem for p in OUR_MODEL_CONFIGS.glob("*.json")}
    spec = importlib.util.find_spec("open_clip")
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            names |= {p.stem for p in (Path(folder) / "model_configs").glob("*.json")}
    return sorted(names)


def installed_ocr_languages() -> list[str]:
    return sorted(p.name.removesuffix(".traineddata") for p in Path(tesseract.tessdata_dir()).glob("*.traineddata"))


def manifest_problems(name: str, dataset: dict) -> list[str]:
    """A manifest dataset's file, checked before any job runs (images: header only, see docs/data.md)."""
    from clippings_wf.data.user_manifest import ManifestError, check_manifest

    problems = []
    split = dataset.get("split", {})
    total = sum(float(split.get(k, 0)) for k in ("train", "val", "test"))
    if split and abs(total - 1.0) > 1e-6:
        problems.append(f"datasets.{name}.split: fractions must sum to 1, got {total:g}")
    ocr = dataset.get("ocr", {})
    try:
        checked = check_manifest(dataset["manifest"], ocr.get("columns", {}), labelled=True, images="header",
                                 max_ocr_chars=ocr.get("max_chars"), references=links(dataset),
                                 image_roots=dataset.get("image_roots", ()),
                                 max_pixels=dataset.get("max_image_pixels"))  # fmt: skip
    except ManifestError as e:
        problems.append(f"datasets.{name}.manifest: {e}")
    else:
        if kind_of(dataset).image == "photo" and not ("ocr_image_path" in checked.frame or
                                                      "noisy" in ocr.get("columns", {})):  # fmt: skip
            problems.append(f"datasets.{name}.manifest: a {kind_of(dataset).name} record's text is its caption: give "
                            "each record's caption image (column ocr_image_path) or its OCR text (ocr.columns.noisy)")
    return problems


def models_from_problems(datasets: dict) -> list[str]:
    """An evaluation-only dataset (models_from) links with the models of an enabled dataset that trains its own."""
    problems = []
    trained = [n for n, d in datasets.items() if d.get("enabled", True) and "models_from" not in d]
    for name, dataset in datasets.items():
        source = dataset.get("models_from")
        if source is None or not dataset.get("enabled", True):
            continue
        where = f"datasets.{name}.models_from"
        if source == name:
            problems.append(f"{where}: a dataset cannot take its models from itself (remove models_from to train)")
        elif source not in datasets or not datasets[source].get("enabled", True):
            problems.append(f"{where}: {source!r} is not an enabled dataset (datasets that train: "
                            f"{', '.join(trained) or 'none'}); enable it, or disable {name}")
        elif "models_from" in datasets[source]:
            problems.append(f"{where}: {source!r} takes its models from {datasets[source]['models_from']!r} itself; "
                            f"name a dataset that trains (no chains: {', '.join(trained) or 'none'})")
        if dataset.get("model"):
            problems.append(f"datasets.{name}.model: an evaluation-only dataset uses the architecture of the models "
                            f"it takes from {source!r}; remove its model block")
    return problems


def finetune_problems(config: dict) -> list[str]:
    """finetune_encoder trains the recognizer's encoder: refused for a dataset whose tower has none."""
    from clippings_wf.models.tower_kinds import uses_recognizer

    problems = []
    for name, dataset in config["datasets"].items():
        if not dataset.get("enabled", True) or "models_from" in dataset:
            continue
        settings = config["model"] | dataset.get("model", {})
        if settings.get("finetune_encoder") and not uses_recognizer(settings["architecture"]):
            problems.append(f"datasets.{name}: finetune_encoder needs a recognizer tower (clippings-textline-*), "
                            f"not {settings['architecture']!r}")
    return problems


# Variant names become paths and wildcards (models/sup_<variant>/, models/sup_<variant>_synthetic/).
RESERVED_VARIANTS = ("unimodal_vision",)  # the paper's unimodally pretrained vision row (training.unimodal_vision)
VARIANT_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


def pooled_variant(supervised: dict) -> str | None:
    """The supervised variant that pools both towers (0 < w < 1): ``training.supervised.pooled``, else the only
    variant with such a w; None where that is not one variant (check_config then names the problem). The
    self-supervised stage is validated at its w, the tuned-w row and the report's retrieval figures use it."""
    variants = supervised["variants"]
    if supervised.get("pooled"):
        return supervised["pooled"]
    pooling = [name for name, w in variants.items() if 0 < w < 1]
    return pooling[0] if len(pooling) == 1 else None


def variant_problems(supervised: dict) -> list[str]:
    """Variant names the rules can turn into paths; a pooled variant that exists and pools."""
    problems = []
    variants = supervised["variants"]
    for name in variants:
        if not VARIANT_NAME.match(name) or name in RESERVED_VARIANTS or name.endswith("_synthetic"):
            problems.append(f"training.supervised.variants: name {name!r} is not usable (lower-case letters, digits "
                            f"and single underscores; not {', '.join(RESERVED_VARIANTS)}; not ending in _synthetic)")
    pooled = pooled_variant(supervised)
    if pooled is None:
        pooling = [name for name, w in variants.items() if 0 < w < 1]
        problems.append(f"training.supervised.pooled: name the variant that pools both towers (0 < w < 1); "
                        f"candidates {pooling or 'none: add one, e.g. multimodal: 0.5'}")
    elif pooled not in variants:
        problems.append(f"training.supervised.pooled: {pooled!r} is not one of the variants {list(variants)}")
    elif not 0 < variants[pooled] < 1:
        problems.append(f"training.supervised.pooled: variant {pooled!r} has w = {variants[pooled]:g}; the pooled "
                        "variant needs 0 < w < 1")
    return problems


def kind_problems(config: dict) -> list[str]:
    """A dataset's record kind and evaluation must be ones the rules can run (clippings_wf/kinds.py)."""
    # Our text-line towers; the photo tower (clippings-photo-*) reads photos only.
    ours = {p.stem for p in OUR_MODEL_CONFIGS.glob("*.json")}
    photo = {a for a in ours if a.startswith("clippings-photo")}
    lines = ours - photo
    datasets, problems = config["datasets"], []
    for name, dataset in datasets.items():
        if not dataset.get("enabled", True):
            continue
        kind = kind_of(dataset)
        architecture = (config["model"] | dataset.get("model", {}))["architecture"]
        generator = dataset.get("generate", {}).get("generator")
        if generator and (generator == "news_wire") != (kind.name == "photo_caption"):
            problems.append(f"datasets.{name}.record_kind: generator {generator} renders "
                            f"{'photo_caption' if generator == 'news_wire' else 'text_line'} records, not {kind.name}")
        if generator == "news_wire" and links(dataset):
            problems.append(f"datasets.{name}.evaluation: news_wire has no reference records: set clustering")
        methods = dataset.get("baselines", config.get("baselines", {}).get("methods", []))
        if "phash" in methods and (kind.name != "photo_caption" or links(dataset)):
            problems.append(f"datasets.{name}.baselines: phash hashes photos and is clustered only: it needs "
                            "record_kind photo_caption and evaluation clustering")
        if "models_from" not in dataset and not kind.line_towers and architecture in lines:
            problems.append(f"datasets.{name}.record_kind: {architecture!r} reads text lines, not {kind.name} "
                            f"records: set datasets.{name}.model.architecture to a photo tower (clippings-photo-char-en"
                            ", or an open_clip architecture such as ViT-B-32 with a CLIP checkpoint)")
        if "models_from" not in dataset and kind.line_towers and architecture in photo:
            problems.append(f"datasets.{name}.model.architecture: {architecture!r} reads photos, not text lines")
        source = datasets.get(dataset.get("models_from"), {})
        if "models_from" in dataset and kind_of(source).name != kind.name:
            problems.append(f"datasets.{name}.record_kind: {kind.name}, but its models come from "
                            f"{dataset['models_from']!r}, a {kind_of(source).name} dataset")
        if "models_from" in dataset and not links(dataset):
            problems.append(f"datasets.{name}.evaluation: an evaluation-only dataset (models_from) is compared by "
                            "linking with its models' dataset; clustering alone is for a dataset that trains")
    return problems


STAGE_KEYS = {"warmup_vision": ("warmup_vision",), "warmup_text": ("warmup_text",), "selfsup": ("selfsup",),
              "supervised.synthetic": ("supervised", "synthetic"), "supervised.labelled": ("supervised", "labelled")}


def schedule_problems(training: dict) -> list[str]:
    """T0 and T_mult belong to cosine_restarts, warmup_fraction to warmup_cosine: a key the schedule would ignore
    is refused rather than silently dropped."""
    problems = []
    for where, path in STAGE_KEYS.items():
        recipe = training
        for key in path:
            recipe = recipe.get(key, {})
        kind = recipe.get("schedule", "warmup_cosine")
        if kind != "cosine_restarts" and ({"T0", "T_mult"} & set(recipe)):
            problems.append(f"training.{where}: T0 and T_mult set the cycles of schedule cosine_restarts, but the "
                            f"schedule is {kind}: add schedule: cosine_restarts, or remove them")
        if kind == "cosine_restarts" and "warmup_fraction" in recipe:
            problems.append(f"training.{where}: schedule cosine_restarts has no warm-up (the authors' has none): "
                            "remove warmup_fraction")
    return problems


def pretrained_problems(config: dict) -> list[str]:
    """An open_clip pretrained tag must exist for the architecture of every dataset that trains from it (our
    character architectures have none): refused here, not hours later in the first training job."""
    pretrained = config["model"]["pretrained"]
    looks_like_path = "/" in pretrained or pretrained.endswith((".pt", ".pth", ".bin", ".safetensors"))
    if looks_like_path or pretrained.strip().lower() in ("", "none", "null"):
        return []
    import open_clip  # only here: the default config (pretrained none) checks without importing torch

    problems = []
    for name, dataset in config["datasets"].items():
        if not dataset.get("enabled", True) or "models_from" in dataset:
            continue
        architecture = (config["model"] | dataset.get("model", {}))["architecture"]
        tags = open_clip.list_pretrained_tags_by_model(architecture)
        if pretrained not in tags:
            problems.append(f"datasets.{name}: model.pretrained {pretrained!r} is not an open_clip tag of its "
                            f"architecture {architecture!r} (its tags: {', '.join(tags) or 'none'}); set "
                            f"datasets.{name}.model.architecture to one that has it, or disable {name}")
    return problems


def check_config(config: dict) -> None:
    problems = variant_problems(config["training"]["supervised"]) + kind_problems(config)
    for name, dataset in config["datasets"].items():
        gen = dataset.get("generate", {})
        split = gen.get("split", {})
        if split and abs(sum(split.values()) - 1.0) > 1e-6:
            problems.append(f"datasets.{name}.generate.split: fractions must sum to 1, got {sum(split.values()):g}")
        for key in ("queries_per_entity", "printings_per_source"):
            low, high = gen.get(key, [1, 1])
            if low > high:
                problems.append(f"datasets.{name}.generate.{key}: min {low} > max {high}")
        if "manifest" in dataset:
            problems += manifest_problems(name, dataset)
        elif dataset.get("ocr", {}).get("columns"):
            problems.append(f"datasets.{name}.ocr.columns: only a manifest dataset has OCR columns")
        language = gen.get("language", dataset.get("language", "ja"))
        if gen.get("generator") == "jp_firms" and language != "ja":
            problems.append(f"datasets.{name}.generate: generator jp_firms is Japanese; use generator: firms "
                            f"with language: {language}")
        if gen.get("shift") and language != "ja":
            problems.append(f"datasets.{name}.generate.shift: the shifted fonts and names are Japanese; "
                            f"shift needs language: ja, not {language}")
        languages = installed_ocr_languages()
        ocr = ocr_settings(language, dataset.get("ocr")) if language in OCR_MODELS else dataset.get("ocr", {})
        for key in ("lang", "lang_vertical"):
            lang = ocr.get(key)
            if lang and languages and lang not in languages:
                problems.append(
                    f"datasets.{name}.ocr.{key}: Tesseract language {lang!r} is not installed "
                    f"(installed: {languages}; apt-get install tesseract-ocr-{lang.replace('_', '-')})"
                )
    problems += models_from_problems(config["datasets"])
    model = config["model"]
    architectures = known_architectures()
    ours = sorted(p.stem for p in OUR_MODEL_CONFIGS.glob("*.json"))
    chosen = {"model.architecture": model["architecture"]}
    for name, dataset in config["datasets"].items():
        if dataset.get("model", {}).get("architecture"):
            chosen[f"datasets.{name}.model.architecture"] = dataset["model"]["architecture"]
    for key, architecture in chosen.items():
        if architecture not in architectures:
            close = difflib.get_close_matches(architecture, architectures, n=3)
            problems.append(
                f"{key}: unknown {architecture!r} (allowed: ours, {', '.join(ours)}; or one of "
                f"open_clip's {len(architectures) - len(ours)} model configs, e.g. ViT-B-32"
                + (f"; closest: {', '.join(close)}" if close else "")
                + "; all: python -c 'import open_clip; print(open_clip.list_models())')"
            )
    problems += finetune_problems(config) + schedule_problems(config["training"]) + pretrained_problems(config)
    pretrained = model["pretrained"]
    looks_like_path = "/" in pretrained or pretrained.endswith((".pt", ".pth", ".bin", ".safetensors"))
    if looks_like_path and not Path(pretrained).is_file():
        problems.append(f"model.pretrained: checkpoint file {pretrained!r} does not exist")
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))
