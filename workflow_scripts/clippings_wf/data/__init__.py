"""Records: the generated benchmarks, synthetic renders, name vocabularies, leakage checks, user manifests."""
