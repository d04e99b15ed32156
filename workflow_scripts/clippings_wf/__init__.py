"""clippings_wf: the library behind the CLIPPINGS reproduction workflow.

Each Snakemake step in ``workflow_scripts/*.py`` is a thin entry point over these modules, so
everything here is importable and unit-testable without Snakemake.
"""

__version__ = "0.1.0"
