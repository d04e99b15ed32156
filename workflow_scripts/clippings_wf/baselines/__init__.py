"""Classical string matching of the OCR text (rapidfuzz scorers, stroke n-grams, TF-IDF)."""
