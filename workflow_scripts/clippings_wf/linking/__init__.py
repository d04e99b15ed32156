"""Nearest-neighbour retrieval (FAISS) and matching a user's records against references."""
