"""Encoders and what feeds them: architectures, tokenizer, image preprocessing, losses, saved artifacts."""
