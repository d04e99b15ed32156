"""Reading the crops: Tesseract (one engine per process) and the PP-OCR text-line recognizer."""
