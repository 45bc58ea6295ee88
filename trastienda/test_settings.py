"""Settings for the test suite: production settings with the few changes tests need."""

from trastienda.settings import *  # noqa: F403

SECURE_SSL_REDIRECT = False
# Argon2 stays the default hasher in production; tests use a fast one for speed.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
HUEY = {**HUEY, "immediate": True}  # noqa: F405
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {"anon": "10000/min", "user": "10000/min"},
}
# Other apps' tests sign administrators in with force_login; the accounts tests turn it back on.
TRASTIENDA_TWO_FACTOR_ENFORCED = False
