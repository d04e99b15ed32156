"""Snakemake step: the photo tower's fixed front end over every record's photo, one pass each -> its features in
one .npz (clippings_wf.models.feature_cache), which the photo tower's head trains on."""

from clippings_wf.runtime.logs import start_step_log

start_step_log(snakemake)  # noqa: F821

import logging  # noqa: E402
from pathlib import Path  # noqa: E402

from clippings_wf.models import feature_cache, photo_encoder  # noqa: E402
from clippings_wf.records import read_records, resolve_image_paths  # noqa: E402

records_path = Path(snakemake.input.records)  # noqa: F821
records = read_records(records_path)
logging.info("photo front end: descreened (blur %.1f px), %d x %d, the %d x %d lowest DCT frequencies",
             photo_encoder.DESCREEN_RADIUS, photo_encoder.SIZE, photo_encoder.SIZE, photo_encoder.KEEP,
             photo_encoder.KEEP)  # fmt: skip
features = photo_encoder.encode_photos(resolve_image_paths(records, records_path.parent),
                                       workers=snakemake.threads)  # noqa: F821  # fmt: skip
feature_cache.save(snakemake.output.features, records["record_id"], features, [""] * len(records))  # noqa: F821
logging.info("%d photos: features %s (float16), %.1f MB on disk", len(records), features.shape,
             Path(snakemake.output.features).stat().st_size / 1e6)  # noqa: F821  # fmt: skip
