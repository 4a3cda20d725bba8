"""How passwords are stored: Argon2id at the OWASP Password Storage Cheat Sheet's parameters.

Django's own Argon2 default (100 MiB, 2 passes, 8 lanes) took 200-340 ms to check one password
on a 2-core server, which made signing in slow and let a burst of sign-ins queue the workers.
OWASP (Password Storage Cheat Sheet, 2023) lists equivalent Argon2id configurations; this is its
first, m=47104 KiB (46 MiB), t=1, p=1, about 85 ms here: as costly to an attacker's GPU as its
19 MiB / t=2 minimum, with more memory per guess. A password stored under other parameters
(Django's default) is re-stored under these at the next sign-in (Django's must_update)."""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher

# OWASP Password Storage Cheat Sheet, "Argon2id": m=47104 (46 MiB), t=1, p=1.
MEMORY_KIB = 47104
TIME_COST = 1
PARALLELISM = 1


class Argon2idHasher(Argon2PasswordHasher):
    memory_cost = MEMORY_KIB
    time_cost = TIME_COST
    parallelism = PARALLELISM
