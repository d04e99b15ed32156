"""Nearest-neighbour retrieval (FAISS), a saved reference index, and linking or clustering a user's records."""
