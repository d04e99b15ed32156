"""Scoring: top-1 with intervals, no-match, clustering, findings, comparison with the reference run."""
