"""Standard Webhooks v1 signatures, checked with the ``standardwebhooks`` package."""

import base64
import datetime as dt
import hashlib
import hmac
import time

import pytest
from rsengine_webhook import signing
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from webhook_helpers import SECRET_A, SECRET_B

BODY = b'{"id":"f555c1a8dda6df38","kind":"setup"}'
WID = "msg_f555c1a8dda6df38_0123456789"


def signed(secrets, body=BODY, ts=None):
    keys = [signing.decode_secret(s) for s in secrets]
    return signing.headers(keys, WID, int(time.time()) if ts is None else ts, body)


def test_standardwebhooks_verifies_our_signature_over_the_raw_body():
    assert Webhook(SECRET_A).verify(BODY, signed([SECRET_A])) == {
        "id": "f555c1a8dda6df38",
        "kind": "setup",
    }


def test_a_wrong_secret_fails_verification():
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET_B).verify(BODY, signed([SECRET_A]))


def test_a_changed_body_fails_verification():
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET_A).verify(BODY.replace(b"setup", b"exit_"), signed([SECRET_A]))


@pytest.mark.parametrize("receiver_secret", [SECRET_A, SECRET_B])
def test_with_two_secrets_either_one_verifies(receiver_secret):
    headers = signed([SECRET_A, SECRET_B])
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(receiver_secret).verify(BODY, headers)


def test_the_signature_is_hmac_sha256_of_id_timestamp_and_body_in_base64():
    key = base64.b64decode(SECRET_A.removeprefix("whsec_"))
    digest = hmac.new(key, f"{WID}.1700000000.".encode() + BODY, hashlib.sha256).digest()
    expected = "v1," + base64.b64encode(digest).decode()
    assert signed([SECRET_A], ts=1700000000)["webhook-signature"] == expected


def test_headers_carry_id_timestamp_and_an_idempotency_key_equal_to_the_id():
    headers = signed([SECRET_A], ts=1700000000)
    assert headers["webhook-id"] == headers["Idempotency-Key"] == WID
    assert headers["webhook-timestamp"] == "1700000000"


def test_a_bare_base64_secret_is_the_same_key_as_its_whsec_form():
    bare = SECRET_A.removeprefix("whsec_")
    assert signing.decode_secret(bare) == signing.decode_secret(SECRET_A)


@pytest.mark.parametrize(
    "bad", ["whsec_not*base64!", "whsec_" + base64.b64encode(b"short").decode()]
)
def test_a_bad_secret_is_refused_without_quoting_it(bad):
    with pytest.raises(signing.SecretFormatError) as caught:
        signing.decode_secret(bad)
    assert bad not in str(caught.value) and bad.removeprefix("whsec_") not in str(caught.value)


# -- our verify (the receiver's) agrees with the package --------------------------------


def package_headers(secret, body=BODY, when=None):
    when = when or dt.datetime.now(dt.UTC)
    signature = Webhook(secret).sign(WID, when, body)
    return {
        "webhook-id": WID,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature,
    }


def test_our_verify_accepts_what_the_package_signs():
    key = signing.decode_secret(SECRET_A)
    assert signing.verify([key], BODY, package_headers(SECRET_A)) == WID


def test_our_verify_refuses_a_wrong_secret():
    with pytest.raises(signing.VerificationError):
        signing.verify([signing.decode_secret(SECRET_B)], BODY, package_headers(SECRET_A))


def test_our_verify_refuses_a_stamp_older_than_five_minutes():
    old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=6)
    with pytest.raises(signing.VerificationError):
        signing.verify([signing.decode_secret(SECRET_A)], BODY, package_headers(SECRET_A, when=old))


def test_our_verify_refuses_missing_headers():
    headers = package_headers(SECRET_A)
    del headers["webhook-signature"]
    with pytest.raises(signing.VerificationError):
        signing.verify([signing.decode_secret(SECRET_A)], BODY, headers)
