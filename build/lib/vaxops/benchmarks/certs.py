"""Certificate benchmark (for ``vaxops bench certs``): sign-and-encode and verify rates, one process.

``cert_bench(n)`` measures, on ``n`` distinct people:

* ``issued_per_s`` — what issuing costs apart from the database: ICAO name, UVCI, DCC payload, schema and
  value-set check, CWT → COSE_Sign1 (ES256) → zlib → Base45 → ``HC1:``;
* ``verified_per_s`` — the whole verifier: Base45, zlib, CBOR/COSE, ES256 signature against the trust
  list, expiry, schema and value sets, and a revocation lookup;
* ``raw_sign_per_s`` / ``raw_verify_per_s`` — in the same run, the bare ES256 sign / verify of the same
  number of messages with ``cryptography`` alone (the floor no encoder can beat);
* with ``db_residents`` > 0, ``issued_db_per_s`` — ``services.certificate_issue`` for that many residents
  of the current database who have a valid dose (rules engine, reads, insert, audit), rolled back after.

Each figure is the median of ``runs`` runs.
"""

from __future__ import annotations

import datetime as dt
import platform
import statistics
import tempfile
import time
from collections.abc import Callable

from vaxops.certs import domain, hcert
from vaxops.core import clock

GIVEN = ("三丰", "小明", "秀英", "建国", "丽娟", "志强", "海燕", "德华", "桂兰", "文斌")
SURNAMES = ("张", "王", "李", "欧阳", "吕", "单", "曾", "陈", "诸葛", "赵")


def _median_rate(n: int, runs: int, work: Callable[[], None]) -> float:
    rates = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        rates.append(n / (time.perf_counter() - start))
    return round(statistics.median(rates), 1)


def cert_bench(n: int = 2000, *, runs: int = 3, db_residents: int = 0) -> dict:
    """Rates per second (see the module docstring). Pure CPU unless ``db_residents``."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    now = clock.now()
    key, certificate = hcert.keypair_generate(common_name="VaxOps DSC bench", now=now - dt.timedelta(days=1))
    signer = hcert.Signer(key, certificate)
    trust = hcert.TrustStore.of([certificate])
    people = [
        (SURNAMES[i % 10] + GIVEN[(i // 10) % 10], dt.date(1950 + i % 50, 1 + i % 12, 1 + i % 28))
        for i in range(n)
    ]
    issuer = "清溪县疾病预防控制中心 / Qingxi County CDC"
    vaccination = domain.Vaccination(
        mp="BBIBP-CorV", ma="ORG-100020693", vp="1157024006", dn=2, sd=2, date=dt.date(2021, 6, 1)
    )
    expires = now + dt.timedelta(days=365)
    issued: list[str] = []

    def issue() -> None:
        issued.clear()
        for name, born in people:
            uvci = domain.uvci_make(issuer="QXCDC", unique=domain.uvci_unique())
            payload = domain.payload_build(
                name=domain.transliterate_name(name),
                birth_date=born,
                vaccination=vaccination,
                issuer=issuer,
                uvci=uvci,
            )
            if domain.schema_check(payload):
                raise AssertionError("bench payload invalid")
            issued.append(signer.sign(payload, issued_at=now, expires_at=expires))

    revoked = hcert.RevocationList(
        hashes=frozenset(domain.uvci_hash(f"URN:UVCI:01:CN:QXCDC/R{i}") for i in range(10_000))
    )

    def verify() -> None:
        for text in issued:
            if not hcert.verify(text, trust=trust, at=now, is_revoked=revoked.is_revoked).valid:
                raise AssertionError("bench certificate did not verify")

    messages = [f"message {i}".encode() * 20 for i in range(n)]
    signatures: list[bytes] = []

    def raw_sign() -> None:
        signatures.clear()
        signatures.extend(key.sign(m, ec.ECDSA(hashes.SHA256())) for m in messages)

    public = key.public_key()

    def raw_verify() -> None:
        for m, s in zip(messages, signatures, strict=True):
            public.verify(s, m, ec.ECDSA(hashes.SHA256()))

    issue()  # warm caches (value sets, schema, pinyin dictionaries)
    report = {
        "n": n,
        "runs": runs,
        "issued_per_s": _median_rate(n, runs, issue),
        "verified_per_s": _median_rate(n, runs, verify),
        "raw_sign_per_s": _median_rate(n, runs, raw_sign),
        "raw_verify_per_s": _median_rate(n, runs, raw_verify),
        "hc1_chars_median": int(statistics.median(len(t) for t in issued)),
        "machine": f"{platform.machine()} Python {platform.python_version()}",
    }
    if db_residents:
        report |= _db_issue(db_residents)
    return report


def _db_issue(limit: int) -> dict:
    """``certificate_issue`` for up to ``limit`` residents with a standing dose, in a transaction rolled back
    at the end (a throwaway signing key in a temporary directory)."""
    from django.db import transaction

    from vaxops.certs import services
    from vaxops.clinic.models import Dose
    from vaxops.core.actors import SystemActor

    ids = list(
        Dose.objects.filter(voided_at__isnull=True, resident__birth_date__isnull=False)
        .order_by("resident_id")
        .values_list("resident_id", flat=True)
        .distinct()[:limit]
    )
    if not ids:
        return {"issued_db_per_s": None, "issued_db_note": "no resident with a dose in this database"}
    actor = SystemActor("bench")
    done = failed = 0
    with tempfile.TemporaryDirectory() as tmp, transaction.atomic():
        services.signing_key_generate(actor=actor, common_name="VaxOps DSC bench", directory=tmp)
        start = time.perf_counter()
        for rid in ids:
            try:
                services.certificate_issue(actor=actor, resident_id=rid, reissue=True)
                done += 1
            except services.ValidationFailed:
                failed += 1
        elapsed = time.perf_counter() - start
        transaction.set_rollback(True)
    return {
        "issued_db_per_s": round(done / elapsed, 1) if done else None,
        "issued_db": done,
        "issued_db_refused": failed,
    }
