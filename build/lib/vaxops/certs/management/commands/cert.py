"""``vaxops cert``: signing keys, the trust list, issuing and verifying vaccination certificates.

    vaxops cert keygen [--cn NAME] [--days N] [--dir DIR]
    vaxops cert register --cert FILE --key-ref file:/path|env:NAME [--verify-only]
    vaxops cert keys
    vaxops cert trustlist [--out FILE] [--format pem|json]
    vaxops cert issue RESIDENT_ID [--json] [--reissue] [--user NAME] [--qr-png FILE] [--pdf FILE]
    vaxops cert revoke UVCI --reason TEXT [--user NAME]
    vaxops cert verify (HC1 | --qr IMAGE) [--trust FILE] [--at DATETIME] [--json] [--revocations FILE|URL]

``verify`` exits 0 for a valid certificate and 1 otherwise.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from vaxops.core.actors import cli_actor
from vaxops.core.errors import VaxOpsError


def _parse_at(text: str) -> dt.datetime:
    """An ISO 8601 date or date-time; without a zone it is local time (Asia/Shanghai)."""
    value = text.strip()
    try:
        if len(value) == 10:
            when = dt.datetime.combine(dt.date.fromisoformat(value), dt.time())
        else:
            when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise CommandError(
            f"--at 时间格式不正确：{text}（例如 2022-01-31 或 2022-01-31T08:00:00+08:00）"
        ) from None
    return timezone.make_aware(when) if timezone.is_naive(when) else when


def _read(source: str) -> bytes:
    if source.startswith(("http://", "https://")):
        import urllib.request

        try:
            with urllib.request.urlopen(source, timeout=15) as r:  # noqa: S310  (a URL the operator gave)
                return r.read(20_000_000)
        except OSError as e:
            raise CommandError(f"无法读取 {source}：{e}") from None
    path = Path(source)
    if not path.is_file():
        raise CommandError(f"文件不存在：{source}")
    return path.read_bytes()


def qr_read(path: str) -> str:
    """The text of the first QR code in an image (zxing-cpp)."""
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(path)
        image.load()
    except (OSError, UnidentifiedImageError) as e:
        raise CommandError(f"无法读取图片 / cannot read the image {path}: {e}") from None
    codes = zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    if not codes:
        raise CommandError(f"图片中未找到二维码 / no QR code found in {path}")
    return codes[0].text


class Command(BaseCommand):
    help = "接种凭证：签名密钥、信任列表、签发与验证（EU DCC / HC1）。Vaccination certificates: keys, trust list, issue, verify."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

        p = sub.add_parser(
            "keygen", help="生成签名密钥和自签名证书（演示）；此后由新密钥签名，旧密钥仍在信任列表中"
        )
        p.add_argument("--cn", default="", help="证书通用名")
        p.add_argument("--days", type=int, default=730, help="证书有效天数（默认 730）")
        p.add_argument("--dir", default="", help="密钥目录（默认 var/keys/）")

        p = sub.add_parser("register", help="登记生产用签名证书及私钥位置（file:/路径 或 env:变量名）")
        p.add_argument("--cert", required=True, help="签名证书文件（PEM/DER）")
        p.add_argument("--key-ref", default="", help="私钥位置：file:/路径 或 env:变量名")
        p.add_argument("--verify-only", action="store_true", help="仅加入信任列表，不用于签名")

        sub.add_parser("keys", help="列出签名密钥")

        p = sub.add_parser(
            "key-revoke", help="吊销签名密钥（私钥丢失或泄露）：移出信任列表，其签发的凭证一并撤销"
        )
        p.add_argument("kid", help="密钥标识（见 vaxops cert keys）")
        p.add_argument("--reason", required=True)

        p = sub.add_parser("trustlist", help="导出信任列表（验证方使用的公钥证书）")
        p.add_argument("--out", default="", help="写入文件（默认输出到屏幕）")
        p.add_argument("--format", choices=["pem", "json"], default="pem")

        p = sub.add_parser("issue", help="为居民签发接种凭证")
        p.add_argument("resident_id", type=int)
        p.add_argument("--json", action="store_true")
        p.add_argument("--reissue", action="store_true", help="即使现有凭证仍有效也重新签发")
        p.add_argument("--user", help="以该用户身份签发（其管辖范围适用）；默认系统身份")
        p.add_argument("--qr-png", default="", help="把二维码写入 PNG 文件")
        p.add_argument("--pdf", default="", help="把凭证写入 PDF 文件")

        p = sub.add_parser("revoke", help="撤销凭证（进入公开的撤销列表）")
        p.add_argument("uvci")
        p.add_argument("--reason", required=True)
        p.add_argument("--user")

        p = sub.add_parser("verify", help="验证 HC1 字符串或二维码图片")
        p.add_argument("hc1", nargs="?", default=None, help="HC1: 字符串（或用 --qr）")
        p.add_argument("--qr", default="", help="二维码图片文件（PNG/JPEG）")
        p.add_argument(
            "--trust",
            default="",
            help="信任证书文件：PEM、DER 或 base64 DER（一个或多个）；默认 VaxOps 自己的信任列表",
        )
        p.add_argument("--at", default="", help="验证时间（ISO 8601，默认现在）")
        p.add_argument("--json", action="store_true")
        p.add_argument(
            "--revocations", default="", help="撤销列表文件或 URL；未给出且未给 --trust 时查本系统记录"
        )

    def handle(self, *args, action: str, **o):
        try:
            getattr(self, f"do_{action.replace('-', '_')}")(**o)
        except VaxOpsError as e:
            raise CommandError(e.message) from None

    # ---------------------------------------------------------------------------------------- keys

    def do_keygen(self, *, cn: str, days: int, dir: str, **_):
        from vaxops.certs import services

        key = services.signing_key_generate(
            actor=cli_actor(None), common_name=cn, days=days, directory=Path(dir) if dir else None
        )
        self.stdout.write(f"已生成签名密钥 / signing key created: kid {key.kid}")
        self.stdout.write(
            f"  证书 / certificate: {key.subject}, {key.not_before:%Y-%m-%d} – {key.not_after:%Y-%m-%d}"
        )
        self.stdout.write(f"  私钥 / private key: {key.private_key_ref} (0600)")
        self.stdout.write(
            "  此前的签名密钥已停用签名，仍保留在信任列表中 / earlier keys stop signing and stay trusted"
        )

    def do_register(self, *, cert: str, key_ref: str, verify_only: bool, **_):
        from vaxops.certs import hcert, services

        data = _read(cert)
        try:
            pem = hcert.certificate_pem(hcert.certificates_parse(data)[0])
        except ValueError as e:
            raise CommandError(str(e)) from None
        key = services.signing_key_register(
            actor=cli_actor(None), certificate_pem=pem, private_key_ref=key_ref, activate=not verify_only
        )
        self.stdout.write(
            f"已登记 / registered: kid {key.kid} {key.subject} {'（签名中 active）' if key.active else ''}"
        )

    def do_keys(self, **_):
        from vaxops.certs.models import SigningKey

        for k in SigningKey.objects.order_by("created_at", "id"):
            state = "吊销 revoked" if k.revoked_at else "签名中 active" if k.active else "仅验证 verify-only"
            self.stdout.write(
                f"{k.kid}  {state:<16} {k.not_before:%Y-%m-%d} – {k.not_after:%Y-%m-%d}  {k.subject}"
            )

    def do_key_revoke(self, *, kid: str, reason: str, **_):
        from vaxops.certs import services

        key, n = services.signing_key_revoke(actor=cli_actor(None), kid=kid, reason=reason)
        self.stdout.write(f"已吊销 / revoked: kid {key.kid} {key.subject}")
        self.stdout.write(
            f"  移出信任列表；其签发的{n}份凭证已撤销 / removed from the trust list; {n} certificate(s) "
            "it signed revoked"
        )
        from vaxops.certs.models import SigningKey

        if not SigningKey.objects.filter(active=True, revoked_at__isnull=True).exists():
            self.stderr.write(
                "现在没有签名密钥：请运行 vaxops cert keygen 或 register / no signing key now: run keygen "
                "or register"
            )

    def do_trustlist(self, *, out: str, format: str, **_):
        from vaxops.certs import selectors

        text = (
            json.dumps(selectors.trustlist(), ensure_ascii=False, indent=2) + "\n"
            if format == "json"
            else selectors.trustlist_pem()
        )
        if not text.strip() or (format == "json" and not selectors.trustlist()["certificates"]):
            self.stderr.write("信任列表为空：请先运行 vaxops cert keygen / the trust list is empty")
        if out:
            Path(out).write_text(text, encoding="utf-8")
            self.stdout.write(f"已写入 / written: {out}")
        else:
            self.stdout.write(text, ending="")

    # ---------------------------------------------------------------------------------- certificates

    def do_issue(
        self, *, resident_id: int, json: bool, reissue: bool, user: str | None, qr_png: str, pdf: str, **_
    ):
        from vaxops.certs import document, services

        cert = services.certificate_issue(actor=cli_actor(user), resident_id=resident_id, reissue=reissue)
        if qr_png:
            Path(qr_png).write_bytes(document.qr_png(cert.hc1))
        if pdf:
            Path(pdf).write_bytes(
                document.pdf_render(
                    document=cert.document,
                    hc1=cert.hc1,
                    issued_at=timezone.localtime(cert.issued_at).strftime("%Y-%m-%d %H:%M"),
                    expires_at=timezone.localtime(cert.expires_at).strftime("%Y-%m-%d %H:%M"),
                )
            )
        if json:
            import json as _json

            self.stdout.write(
                _json.dumps(
                    {
                        "id": cert.pk,
                        "resident_id": cert.resident_id,
                        "uvci": cert.uvci,
                        "kid": cert.kid,
                        "issued_at": cert.issued_at.isoformat(),
                        "expires_at": cert.expires_at.isoformat(),
                        "hc1": cert.hc1,
                        "payload": cert.payload,
                    },
                    ensure_ascii=False,
                )
            )
            return
        self.stdout.write(f"凭证编号 / UVCI: {cert.uvci}")
        self.stdout.write(
            f"签发 / issued: {timezone.localtime(cert.issued_at):%Y-%m-%d %H:%M}  "
            f"到期 / expires: {timezone.localtime(cert.expires_at):%Y-%m-%d %H:%M}  kid {cert.kid}"
        )
        for out, what in ((qr_png, "二维码 / QR"), (pdf, "PDF")):
            if out:
                self.stdout.write(f"{what}: {out}")
        self.stdout.write(cert.hc1)

    def do_revoke(self, *, uvci: str, reason: str, user: str | None, **_):
        from vaxops.certs import services

        cert = services.certificate_revoke(actor=cli_actor(user), uvci=uvci, reason=reason)
        self.stdout.write(f"已撤销 / revoked: {cert.uvci}")

    def do_verify(self, *, hc1: str | None, qr: str, trust: str, at: str, json: bool, revocations: str, **_):
        from vaxops.certs import hcert, services

        if bool(hc1) == bool(qr):
            raise CommandError(
                "请给出 HC1 字符串或 --qr 图片（二者选一）/ give an HC1 string or --qr IMAGE (one of them)"
            )
        text = qr_read(qr) if qr else hc1
        if text == "-":
            text = sys.stdin.read()
        store = None
        if trust:
            try:
                store = hcert.TrustStore.of(hcert.certificates_parse(_read(trust)))
            except ValueError as e:
                raise CommandError(f"--trust {trust}: {e}") from None
        revoked = None
        if revocations:
            try:
                revoked = hcert.RevocationList.parse(_read(revocations))
            except ValueError as e:
                raise CommandError(f"--revocations {revocations}: {e}") from None
        elif trust:
            revoked = hcert.RevocationList()  # another issuer's certificates: no list of ours applies
        verdict = services.certificate_verify(
            text=text, at=_parse_at(at) if at else None, trust=store, revocations=revoked
        )
        if json:
            import json as _json

            self.stdout.write(_json.dumps(verdict.as_dict(), ensure_ascii=False))
        else:
            self._human(verdict)
        if not verdict.valid:
            sys.exit(1)

    def _human(self, v) -> None:
        yes = lambda flag, y, n: y if flag else n  # noqa: E731
        self.stdout.write(f"结论 / verdict: {yes(v.valid, '有效 VALID', '无效 INVALID')}")
        self.stdout.write(f"  解码 / decoded:        {yes(v.decoded, '是 yes', '否 no')}")
        self.stdout.write(
            f"  签名 / signature:      {yes(v.signature_valid, '有效 valid', '无效 invalid')}"
            + (f"  kid {v.kid}" if v.kid else "")
            + (f"  {v.signer_subject}" if v.signer_subject else "")
        )
        self.stdout.write(
            f"  过期 / expired:        {yes(v.expired, '已过期 yes', '否 no')}"
            + (f"  (exp {v.expires_at:%Y-%m-%d %H:%M} UTC)" if v.expires_at else "")
        )
        self.stdout.write(f"  数据规范 / schema:     {yes(v.schema_valid, '符合 valid', '不符合 invalid')}")
        p = v.payload or {}
        nam = p.get("nam") or {}
        if nam:
            self.stdout.write(
                f"  姓名 / name:           {nam.get('fn', '')}{nam.get('gn', '')}  "
                f"({'<'.join(x for x in (nam.get('fnt'), nam.get('gnt')) if x)})  出生 / born {p.get('dob', '')}"
            )
        for e in p.get("v") or []:
            self.stdout.write(
                f"  接种 / vaccination:    {e.get('mp')} {e.get('dn')}/{e.get('sd')} {e.get('dt')} "
                f"{e.get('co')}  {e.get('is')}"
            )
            self.stdout.write(f"  凭证编号 / UVCI:       {e.get('ci')}")
        if v.reasons:
            self.stdout.write("  原因 / reasons:")
            for r in v.reasons:
                self.stdout.write(f"    - {r}")
