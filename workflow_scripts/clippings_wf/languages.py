"""What a generated dataset's language (``generate.language``: ja | en) changes outside the generator:
its Tesseract models and the string baselines that apply to it."""

LANGUAGES = ("ja", "en")
# Tesseract models (horizontal, vertical); English crops are never vertical.
OCR_MODELS = {"ja": ("jpn", "jpn_vert"), "en": ("eng", "eng")}
# fuzzychinese's stroke table covers CJK ideographs only: on Latin text every similarity would be 0.
CJK_ONLY_BASELINES = ("stroke_ngram",)


def ocr_settings(language, ocr=None):
    """The dataset's ``ocr`` block with the language's Tesseract models filled in where it names none."""
    lang, lang_vertical = OCR_MODELS[language]
    return {"lang": lang, "lang_vertical": lang_vertical} | dict(ocr or {})


def applicable_baselines(language, methods):
    """``methods`` without the baselines that cannot read this language's script."""
    return [m for m in methods if language == "ja" or m not in CJK_ONLY_BASELINES]
