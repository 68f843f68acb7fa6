"""Builds a throwaway Django project's database for the import test.

Usage: mkproject.py DIR [postgres DSN parts via env DJANGO_PG_NAME...]

It migrates django.contrib.auth and rest_framework.authtoken, then creates
users through Django's own create_user, once with each password hasher
enabled in settings (make_password uses PASSWORD_HASHERS[0]), groups with
members, and DRF tokens through Token.objects.create. It prints one JSON
object: {"users": [{"username", "password", "hasher", "token"}...]}.
"""
import datetime
import json
import os
import sys

import django
from django.conf import settings

d = sys.argv[1]
if os.environ.get("DJANGO_PG_NAME"):
    db = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ["DJANGO_PG_NAME"],
        "USER": os.environ.get("DJANGO_PG_USER", "postgres"),
        "HOST": os.environ.get("DJANGO_PG_HOST", "127.0.0.1"),
        "PORT": os.environ.get("DJANGO_PG_PORT", "5432"),
    }
else:
    db = {"ENGINE": "django.db.backends.sqlite3", "NAME": os.path.join(d, "db.sqlite3")}

hashers = [
    ("pbkdf2_sha256", "django.contrib.auth.hashers.PBKDF2PasswordHasher"),
    ("pbkdf2_sha1", "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher"),
    ("bcrypt_sha256", "django.contrib.auth.hashers.BCryptSHA256PasswordHasher"),
    ("bcrypt", "django.contrib.auth.hashers.BCryptPasswordHasher"),
]
try:
    import argon2  # noqa: F401  python3-argon2
    hashers.append(("argon2", "django.contrib.auth.hashers.Argon2PasswordHasher"))
except ImportError:
    pass
try:
    from django.contrib.auth.hashers import ScryptPasswordHasher  # noqa: F401  Django >= 4.0
    hashers.append(("scrypt", "django.contrib.auth.hashers.ScryptPasswordHasher"))
except ImportError:
    pass

settings.configure(
    DATABASES={"default": db},
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework", "rest_framework.authtoken"],
    PASSWORD_HASHERS=[h for _, h in hashers],
    USE_TZ=True,
    DEFAULT_AUTO_FIELD="django.db.models.AutoField",
)
django.setup()

from django.core.management import call_command  # noqa: E402
from django.contrib.auth.models import Group, User  # noqa: E402
from django.test.utils import override_settings  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

call_command("migrate", verbosity=0)
staff = Group.objects.create(name="staff")
ops = Group.objects.create(name="ops")
out = []
for i, (name, path) in enumerate(hashers):
    with override_settings(PASSWORD_HASHERS=[path]):
        username = "user_" + name
        pw = "pw-%s-%d-pässword" % (name, i)
        u = User.objects.create_user(username, email=username + "@example.test", password=pw,
                                     first_name="First" + str(i), last_name="Last")
    u.groups.add(staff)
    if i % 2 == 0:
        u.groups.add(ops)
    t = Token.objects.create(user=u)
    out.append({"username": username, "password": pw, "hasher": name, "hash": u.password, "token": t.key})
inactive = User.objects.create_user("gone_fishing", password="inactive-pw", is_active=False)
# Signed in once, long ago: last_login is imported (create_user leaves it NULL).
inactive.last_login = datetime.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=datetime.timezone.utc)
inactive.save(update_fields=["last_login"])
unusable = User.objects.create_user("no_password")  # set_unusable_password
print(json.dumps({"users": out, "hashers": [n for n, _ in hashers]}))
