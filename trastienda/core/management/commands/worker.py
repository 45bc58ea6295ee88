"""``trastienda worker``: run the background-job consumer (Huey) with its periodic jobs.

The same options as Huey's consumer (``--workers``, ``--worker-type``...); the defaults come
from ``settings.HUEY["consumer"]``. Storage: SQLite in ``var/`` or Redis when ``REDIS_URL``
is set. Every app's ``jobs`` module is imported first, so every job kind is known.
"""

from __future__ import annotations

import logging
from typing import Any

from django.utils.module_loading import autodiscover_modules
from huey.contrib.djhuey.management.commands.run_huey import Command as RunHueyCommand


class Command(RunHueyCommand):
    help = "Run the background-job worker (Huey consumer) with its periodic jobs."

    def handle(self, *args: Any, **options: Any) -> None:
        from trastienda.core.jobs import job_kinds

        autodiscover_modules("jobs")
        # Huey's consumer gives its logger a handler of its own; the root one would repeat it.
        logging.getLogger("huey").propagate = False
        kinds = sorted(job_kinds())
        self.stdout.write(f"Trastienda worker: {len(kinds)} job kinds ({', '.join(kinds)})")
        super().handle(*args, **options)
