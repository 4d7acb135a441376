"""TLS and basic auth for tests: a CA and a server certificate for 127.0.0.1 made with openssl, and a
web config (exporter-toolkit's format) with one bcrypt user."""

from __future__ import annotations

import subprocess
from pathlib import Path

import bcrypt
import yaml

USER, PASSWORD = "prometheus", "s3cret scrape password"


def make_tls(tmp: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1, made with openssl."""
    ca_key, ca, key, csr, cert = (tmp / n for n in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem"))

    def run(*a: str) -> None:
        subprocess.run(["openssl", *a], check=True, capture_output=True)

    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        str(ca_key),
        "-out",
        str(ca),
        "-days",
        "2",
        "-subj",
        "/CN=ContactPulse test CA",
    )
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1")
    ext = tmp / "san.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    run(
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(ca),
        "-CAkey",
        str(ca_key),
        "-CAcreateserial",
        "-out",
        str(cert),
        "-days",
        "2",
        "-extfile",
        str(ext),
    )
    return ca, cert, key


def web_config(tmp: Path, tls: bool = True) -> tuple[Path, Path]:
    ca, cert, key = make_tls(tmp)
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode().replace("$2b$", "$2y$", 1)
    doc = {"basic_auth_users": {USER: hashed}}
    if tls:
        doc["tls_server_config"] = {"cert_file": str(cert), "key_file": str(key)}
    path = tmp / "web-config.yml"
    path.write_text(yaml.safe_dump(doc))
    return path, ca
