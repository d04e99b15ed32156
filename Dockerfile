# The workflow's software in one image: Debian 12 (bookworm) with Python 3.11, the system the workflow was tested on,
# set up by the same install.sh as a bare machine (apt: Tesseract and its models, fonts, the photographs' wallpaper
# packages; .venv with the pinned requirements and clippings_wf). Build: docker build -t clippings-workflow .
# Apptainer: apptainer build clippings.sif docker-daemon://clippings-workflow:latest (docs/deployment.md, "Container").
FROM python:3.11-slim-bookworm

# install.sh runs apt-get itself (as root here, so without sudo); nothing may stop to ask a question.
ENV DEBIAN_FRONTEND=noninteractive \
    PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1

WORKDIR /opt/clippings-workflow
# The whole checkout (less .dockerignore's results, venv and caches): install.sh needs requirements.txt, and its
# editable install pyproject.toml, README.md and workflow_scripts/.
COPY . .
RUN bash install.sh && rm -rf /var/lib/apt/lists/*

# The venv first on PATH: `snakemake`, and the `python` that Snakemake runs a step's script with inside a container.
ENV PATH=/opt/clippings-workflow/.venv/bin:$PATH

CMD ["snakemake", "--workflow-profile", "profiles/default"]
