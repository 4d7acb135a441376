"""``contactpulse erase``: a person's data removed on request (services/store/erasure.py), with the
consumer stopped; the snapshot readers use is written again from the erased file."""

from __future__ import annotations

import argparse
import os

from pipelines.pseudonym import customer_ref, normalise_email, normalise_phone, normalise_uprn
from services.errors import UserError
from services.ingest.gateway.edge import keys_from_env
from services.settings import Settings
from services.store.opening import DB_HELP, open_store, refresh_snapshot


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    p = sub.add_parser("erase", help="erase a person's contacts and events (the right to erasure); consumer stopped")
    p.add_argument("--db", help=DB_HELP + "; a file's consumer must be stopped")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--customer-ref", help="the person's customer_ref")
    who.add_argument("--phone", help="their phone number (made a pseudonym with the council's key)")
    who.add_argument("--email", help="their email address (likewise)")
    who.add_argument("--uprn", help="their property reference (likewise)")
    p.add_argument("--council", default="", help="whose key makes the pseudonym (CONTACTPULSE_PSEUDONYM_KEY_<COUNCIL>)")
    return p


def forms(kind: str, value: str) -> tuple[str, ...]:
    """The identifier as a rejected line might hold it: as given, normalised, and (a UK number) national."""
    if kind == "phone":
        e164 = normalise_phone(value)
        national = "0" + e164[3:] if e164.startswith("+44") else e164
        return tuple(dict.fromkeys((value.strip(), e164, national, e164[1:])))
    normal = normalise_email(value) if kind == "email" else normalise_uprn(value)
    return tuple(dict.fromkeys((value.strip(), normal)))


def run(args: argparse.Namespace, settings: Settings) -> int:
    where = settings.location(args.db)
    kind = next(k for k in ("customer_ref", "phone", "email", "uprn") if getattr(args, k))
    value: str = getattr(args, kind)
    raw: tuple[str, ...] = ()
    if kind == "customer_ref":
        ref = value.strip()
    else:
        key = keys_from_env(dict(os.environ))(args.council)
        if key is None:
            raise UserError("no pseudonym key: set CONTACTPULSE_PSEUDONYM_KEY (or ..._<COUNCIL> with --council)")
        ref, raw = customer_ref(kind, value, key), forms(kind, value)
    with open_store(settings, where, must_exist=True) as store:
        done = store.erase(ref, raw)
        refresh_snapshot(store)
    print(
        f"erased {done.contacts:,} contact(s), {done.events:,} event(s), {done.fcr_verdicts:,} FCR verdict(s) and "
        f"{done.rejected_lines:,} rejected line(s); FCR judged again in {done.groups_judged:,} other group(s); "
        "an audit row was written, and later events of this person will be dropped"
    )
    print("Kafka keeps its own copy until the topics' retention deletes it (docs/security.md)")
    return 0
