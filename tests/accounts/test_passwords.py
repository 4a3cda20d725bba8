from ketacare.config import settings as production


def test_production_hashes_passwords_with_argon2():
    assert production.PASSWORD_HASHERS[0] == "ketacare.accounts.hashers.Argon2idHasher"
