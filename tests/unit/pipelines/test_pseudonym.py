from __future__ import annotations

import base64
import hmac
import random

import pytest

from pipelines.pseudonym import PseudonymError, customer_ref, normalise_email, normalise_phone, normalise_uprn
from schemas.reasons import is_pii

KEY = b"k" * 32


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("07700 900123", "+447700900123"),
        ("+44 7700 900123", "+447700900123"),
        ("0044 7700 900123", "+447700900123"),
        ("+44 (0)20 7946 0018", "+442079460018"),
        ("(020) 7946-0018", "+442079460018"),
        ("447700900123", "+447700900123"),
        ("+1 415 555 0100", "+14155550100"),
        ("0800 1111", "+448001111"),  # seven digits after the 0: Childline's number
        ("+81359891323", "+81359891323"),  # another country's number, as Genesys's sample writes it
        ("00353 1 234 5678", "+35312345678"),
        ("tel:+441205310010", "+441205310010"),
        ("sip:+81399999998@172.18.182.10;user=phone", "+81399999998"),  # the user part of a SIP URI
    ],
)
def test_phone_numbers_normalise_to_e164(raw: str, e164: str) -> None:
    assert normalise_phone(raw) == e164


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "hello",
        "12345",
        "0770",
        "+44 7700 900123 999",
        "0800-CALL-NOW",
        "sip:ipadphone@172.18.182.10",
        "+999 123 456 789",
        "+1 000 301 234",
    ],
)
def test_bad_phone_numbers_are_refused(raw: str) -> None:
    with pytest.raises(PseudonymError):
        normalise_phone(raw)


def test_email_and_uprn_normalise() -> None:
    assert normalise_email("  Jo.Bloggs@Example.ORG ") == "jo.bloggs@example.org"
    assert normalise_uprn(" 000100030123456 ".replace("000", "", 1)) == "100030123456"
    with pytest.raises(PseudonymError):
        normalise_email("not-an-email")
    with pytest.raises(PseudonymError):
        normalise_uprn("UPRN-12")


def test_same_person_same_ref_and_refs_pass_the_contract() -> None:
    a = customer_ref("phone", "07700 900123", KEY)
    assert a == customer_ref("phone", "+44 7700 900123", KEY)
    assert a != customer_ref("phone", "07700 900124", KEY)
    assert a != customer_ref("phone", "07700 900123", b"another key of 16+ bytes")
    assert customer_ref("email", "JO@example.org", KEY) == customer_ref("email", "jo@example.org ", KEY)
    assert customer_ref("uprn", "14155550100", KEY) != customer_ref("phone", "+14155550100", KEY)
    for ref in (a, customer_ref("email", "x@y.z", KEY), customer_ref("uprn", "1", KEY)):
        assert len(ref) >= 22
        assert set(ref) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        assert not is_pii(ref)


def test_missing_or_short_key_is_a_clear_error() -> None:
    with pytest.raises(PseudonymError, match="at least 16 bytes"):
        customer_ref("phone", "07700 900123", b"")
    with pytest.raises(PseudonymError, match="unknown identifier kind"):
        customer_ref("nino", "AB123456C", KEY)


def test_the_plain_uk_number_shortcut_gives_what_libphonenumber_gives() -> None:
    rng = random.Random(5)
    numbers = ["".join(rng.choice("0123456789") for _ in range(rng.randint(8, 13))) for _ in range(3000)]
    numbers += ["0" + n[1:] for n in numbers] + ["00" + n[2:] for n in numbers] + ["01205١٢٣٤٥٦"]
    for raw in numbers:
        try:
            direct = normalise_phone(raw)
        except PseudonymError:
            direct = "refused"
        try:
            full = normalise_phone(" " + raw)  # a leading space: never the shortcut; libphonenumber's answer
        except PseudonymError:
            full = "refused"
        assert direct == full, raw


def test_the_ref_is_hmac_sha256_over_kind_and_normalised_value() -> None:
    for kind, raw, normal in (
        ("phone", "01205 123456", "+441205123456"),
        ("email", " Jo@X.org", "jo@x.org"),
        ("uprn", "00123", "123"),
    ):
        digest = hmac.digest(KEY, f"{kind}:{normal}".encode(), "sha256")
        expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        assert customer_ref(kind, raw, KEY) == customer_ref(kind, raw, KEY) == expected  # and again, the copy
