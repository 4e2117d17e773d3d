"""Settings for the test suite: the real settings in development mode, plus fast password hashing.

DATABASE_URL and CELERY_BROKER_URL from the environment are honoured, so CI runs the same
suite against PostgreSQL and Redis.
"""

import os

os.environ.setdefault("DEBUG", "1")

from airportal.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Unit tests run tasks in-process; tests marked `worker` start a real worker instead.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
