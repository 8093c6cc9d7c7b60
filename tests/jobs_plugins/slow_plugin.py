"""A tenant-local scoring variant for the job tests: decree335 that can be made to hang
mid-job (while a file named by CONGVU_TEST_HANG exists), so a worker can be killed there."""

import os
import time
from pathlib import Path

from core.plugins.toolkit import hookimpl
from plugins.decree335 import Decree335


class SlowDecree(Decree335):
    key = "slow-decree"

    def score_items(self, items, settings):
        hang = os.environ.get("CONGVU_TEST_HANG")
        if hang:
            Path(hang + ".started").write_text("1")
            while Path(hang).exists():
                time.sleep(0.1)
        return super().score_items(items, settings)

    def item_components_sql(self, item, settings):
        return None  # scored in Python, where the test can make it hang mid-month


@hookimpl
def congvu_scoring_variants():
    return [SlowDecree()]
