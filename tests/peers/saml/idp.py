#!/usr/bin/env python3
"""A real SAML 2.0 identity provider (pysaml2 + Flask) for Tessera's integration tests, on loopback.

    python3 tests/peers/saml/idp.py --port PORT (--sp-metadata-url URL | --sp-metadata-file FILE) \
        --workdir DIR [--users JSON]

Prints exactly one line `READY http://127.0.0.1:PORT` on stdout once listening (PORT 0 picks a free
port, reported in that line); everything else goes to stderr. See ../README.md for the endpoints.
"""

import argparse
import base64
import copy
import datetime
import hashlib
import html
import json
import logging
import os
import re
import shutil
import signal
import sys
import threading
import time
import urllib.request
import warnings

from cryptography.utils import CryptographyDeprecationWarning

# pysaml2 7.5 touches cryptography's deprecated CFB mode at import time: not our concern.
warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning)

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from flask import Flask, Response, request
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, class_name, saml
from saml2.config import IdPConfig
from saml2.metadata import entity_descriptor, metadata_tostring_fix
from saml2.saml import NAME_FORMAT_BASIC, NAME_FORMAT_URI, NAMEID_FORMAT_EMAILADDRESS
from saml2.server import Server
from saml2.sigver import pre_signature_part, signed_instance_factory, verify_redirect_signature
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256
from werkzeug.serving import make_server

log = logging.getLogger("tessera-test-idp")

DEFAULT_USERS = [{"id": "alice", "email": "alice@idp.test", "givenName": "Alice", "sn": "Liddell"}]

DEFAULT_CONFIG = {
    "sign_response": True,
    "sign_assertion": True,
    "audience": None,  # null: the SP's entityID
    "in_response_to": None,  # null: the AuthnRequest's ID; "" omits InResponseTo; else that value
    "not_on_or_after_offset_seconds": None,  # null: now + 300 s; else now + offset (negative: expired)
    "tamper_nameid": None,  # set: NameID replaced by this AFTER signing (breaks the signatures)
    "user": None,  # set: who signs in when the request names nobody (overrides "the only user")
    "want_authn_requests_signed": False,  # true: refuse AuthnRequests without a valid signature
}

LIFETIME_SECONDS = 300


def parse_users(value):
    users = json.loads(value) if isinstance(value, (str, bytes)) else value
    if not isinstance(users, list):
        raise ValueError("users must be a JSON array")
    out = []
    for u in users:
        if not isinstance(u, dict) or not isinstance(u.get("email"), str) or not u["email"]:
            raise ValueError('every user needs a non-empty string "email"')
        u = dict(u)
        u.setdefault("id", u.get("sub") or u["email"].split("@")[0])
        out.append(u)
    return out


def make_key_and_cert(workdir):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "idp.test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    key_file = os.path.join(workdir, "idp.key")
    cert_file = os.path.join(workdir, "idp.crt")
    with open(key_file, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
    with open(cert_file, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    return key_file, cert_file


class IdP:
    def __init__(self, base, workdir, key_file, cert_file, sp_metadata_url, sp_metadata_file, users):
        self.base = base
        self.entity_id = f"{base}/metadata"
        self.workdir = workdir
        self.key_file = key_file
        self.cert_file = cert_file
        self.sp_metadata_url = sp_metadata_url
        self.sp_metadata_file = sp_metadata_file
        self.users = users
        self.config = dict(DEFAULT_CONFIG)
        self.last_response = None
        self.last_request = None
        self.lock = threading.RLock()
        self._server = None
        self._server_key = None
        self._metadata = None
        self.xmlsec = shutil.which("xmlsec1")
        if not self.xmlsec:
            raise SystemExit("idp.py: xmlsec1 not found (Debian package xmlsec1)")

    def conf_dict(self, sp_metadata_path):
        return {
            "entityid": self.entity_id,
            "service": {
                "idp": {
                    "name": "Tessera test IdP",
                    "endpoints": {
                        "single_sign_on_service": [
                            (f"{self.base}/sso/redirect", BINDING_HTTP_REDIRECT),
                            (f"{self.base}/sso/post", BINDING_HTTP_POST),
                        ],
                    },
                    "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                    "want_authn_requests_signed": bool(self.config["want_authn_requests_signed"]),
                    "policy": {"default": {"lifetime": {"seconds": LIFETIME_SECONDS}, "name_form": NAME_FORMAT_URI}},
                },
            },
            "key_file": self.key_file,
            "cert_file": self.cert_file,
            "xmlsec_binary": self.xmlsec,
            "metadata": {"local": [sp_metadata_path]} if sp_metadata_path else {},
            "accepted_time_diff": 120,
            "signing_algorithm": SIG_RSA_SHA256,
            "digest_algorithm": DIGEST_SHA256,
        }

    def metadata_xml(self):
        if self._metadata is None:
            conf = IdPConfig().load(copy.deepcopy(self.conf_dict(None)))
            ed = entity_descriptor(conf)
            ed.extensions = None  # pysaml2 lists every algorithm xmlsec1 knows (md5...): leave it out
            xml = metadata_tostring_fix(ed, {"xs": "http://www.w3.org/2001/XMLSchema"}, None)
            self._metadata = xml.decode("utf-8") if isinstance(xml, bytes) else xml
        return self._metadata

    def _sp_metadata_bytes(self):
        if self.sp_metadata_url:
            with urllib.request.urlopen(self.sp_metadata_url, timeout=10) as r:
                return r.read()
        with open(self.sp_metadata_file, "rb") as f:
            return f.read()

    def server(self):
        """The pysaml2 Server, (re)built when the SP metadata or the signing requirement changed.
        The SP metadata is read at each use: the SP may start after this IdP, or restart."""
        data = self._sp_metadata_bytes()
        key = (hashlib.sha256(data).hexdigest(), bool(self.config["want_authn_requests_signed"]))
        with self.lock:
            if self._server is None or self._server_key != key:
                path = os.path.join(self.workdir, "sp-metadata.xml")
                with open(path, "wb") as f:
                    f.write(data)
                conf = IdPConfig().load(copy.deepcopy(self.conf_dict(path)))
                self._server = Server(config=conf)
                self._server_key = key
            return self._server

    def find_user(self, name):
        if not name:
            if self.config.get("user"):
                return self.find_user(self.config["user"])
            return self.users[0] if len(self.users) == 1 else None
        lower = name.lower()
        for u in self.users:
            if u["id"] == name or u["email"].lower() == lower:
                return u
        return None

    @staticmethod
    def _attribute(name, name_format, value, friendly_name=None):
        av = saml.AttributeValue()
        av.set_text(value)
        return saml.Attribute(name=name, name_format=name_format, friendly_name=friendly_name, attribute_value=[av])

    def attributes(self, user):
        attrs = [
            self._attribute("urn:oid:0.9.2342.19200300.100.1.3", NAME_FORMAT_URI, user["email"], "mail"),
            self._attribute("mail", NAME_FORMAT_BASIC, user["email"]),
            self._attribute("email", NAME_FORMAT_BASIC, user["email"]),
        ]
        if user.get("givenName"):
            attrs.append(self._attribute("urn:oid:2.5.4.42", NAME_FORMAT_URI, user["givenName"], "givenName"))
            attrs.append(self._attribute("givenName", NAME_FORMAT_BASIC, user["givenName"]))
        if user.get("sn"):
            attrs.append(self._attribute("urn:oid:2.5.4.4", NAME_FORMAT_URI, user["sn"], "sn"))
            attrs.append(self._attribute("sn", NAME_FORMAT_BASIC, user["sn"]))
        return saml.AttributeStatement(attribute=attrs)

    def build_response(self, server, user, sp_entity_id, acs_url, request_id):
        """A signed (per config) Response as an XML string."""
        cfg = self.config
        if cfg["in_response_to"] is None:
            irt = request_id
        else:
            irt = cfg["in_response_to"] or None
        name_id = saml.NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=user["email"])
        resp = server.create_authn_response(
            identity={},
            in_response_to=irt,
            destination=acs_url,
            sp_entity_id=sp_entity_id,
            name_id=name_id,
            authn={"class_ref": saml.AUTHN_PASSWORD_PROTECTED, "authn_auth": self.entity_id},
            sign_response=False,
            sign_assertion=False,
            best_effort=True,
        )
        if isinstance(resp, (str, list)):
            raise RuntimeError(f"pysaml2 could not build a response: {resp}")
        assertion = resp.assertion
        assertion.attribute_statement = [self.attributes(user)]

        # Validity window.
        offset = cfg["not_on_or_after_offset_seconds"]
        now = datetime.datetime.now(datetime.timezone.utc)
        noa = now + datetime.timedelta(seconds=LIFETIME_SECONDS if offset is None else int(offset))
        nb = min(now, noa) - datetime.timedelta(seconds=LIFETIME_SECONDS)
        fmt = "%Y-%m-%dT%H:%M:%SZ"
        assertion.conditions.not_on_or_after = noa.strftime(fmt)
        assertion.conditions.not_before = nb.strftime(fmt)
        for sc in assertion.subject.subject_confirmation:
            scd = sc.subject_confirmation_data
            scd.not_on_or_after = noa.strftime(fmt)
            scd.in_response_to = irt
            scd.recipient = acs_url
        resp.in_response_to = irt

        # Audience.
        audience = cfg["audience"] if cfg["audience"] is not None else sp_entity_id
        assertion.conditions.audience_restriction = [
            saml.AudienceRestriction(audience=[saml.Audience(text=audience)])
        ]

        # Signatures: the assertion first (inner), then the response (envelope).
        to_sign = []
        if cfg["sign_assertion"]:
            assertion.signature = pre_signature_part(
                assertion.id, server.sec.my_cert, 2, sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256
            )
            to_sign.append((class_name(assertion), assertion.id))
        if cfg["sign_response"]:
            resp.signature = pre_signature_part(
                resp.id, server.sec.my_cert, 1, sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256
            )
            to_sign.append((class_name(resp), resp.id))
        xml = signed_instance_factory(resp, server.sec, to_sign) if to_sign else resp.to_string()
        if isinstance(xml, bytes):
            xml = xml.decode("utf-8")

        if cfg["tamper_nameid"]:
            xml, n = re.subn(
                r"(<(?:[A-Za-z0-9_]+:)?NameID\b[^>]*>)[^<]*(</(?:[A-Za-z0-9_]+:)?NameID>)",
                lambda m: m.group(1) + html.escape(cfg["tamper_nameid"], quote=False) + m.group(2),
                xml,
                count=1,
            )
            if n != 1:
                raise RuntimeError("NameID not found to tamper with")
        return xml

    def respond(self, server, user, sp_entity_id, acs_url, request_id, relay_state):
        xml = self.build_response(server, user, sp_entity_id, acs_url, request_id)
        b64 = base64.b64encode(xml.encode("utf-8")).decode("ascii")
        self.last_response = {
            "saml_response": b64,
            "relay_state": relay_state,
            "acs_url": acs_url,
            "sp_entity_id": sp_entity_id,
            "in_response_to": request_id,
            "user": user["id"],
            "email": user["email"],
        }
        return b64


def auto_post_form(acs_url, saml_response, relay_state):
    fields = f'<input type="hidden" name="SAMLResponse" value="{html.escape(saml_response)}"/>'
    if relay_state is not None:
        fields += f'<input type="hidden" name="RelayState" value="{html.escape(relay_state)}"/>'
    return (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Signing in</title></head>"
        '<body onload="document.forms[0].submit()">'
        f'<form method="post" action="{html.escape(acs_url)}">{fields}'
        '<noscript><button type="submit">Continue</button></noscript></form></body></html>\n'
    )


def text(status, body):
    return Response(body + "\n", status=status, mimetype="text/plain")


def jsonr(status, body):
    return Response(json.dumps(body) + "\n", status=status, mimetype="application/json")


def create_app(idp):
    app = Flask("tessera-test-idp")

    @app.get("/metadata")
    def metadata():
        return Response(idp.metadata_xml(), mimetype="application/samlmetadata+xml")

    def sso(binding, params):
        saml_request = params.get("SAMLRequest")
        if not saml_request:
            return text(400, "SAMLRequest missing")
        relay_state = params.get("RelayState")
        sigalg = params.get("SigAlg")
        signature = params.get("Signature")
        try:
            server = idp.server()
        except Exception as exc:  # SP metadata unreachable or unusable
            log.error("SP metadata: %s", exc)
            return text(502, f"cannot load the SP metadata: {exc}")
        with idp.lock:
            try:
                req = server.parse_authn_request(
                    saml_request, binding, relay_state=relay_state, sigalg=sigalg, signature=signature
                )
            except Exception as exc:
                log.warning("AuthnRequest refused: %r", exc)
                return text(400, f"AuthnRequest refused: {exc!r}")
            msg = req.message
            sp_entity_id = msg.issuer.text.strip() if msg.issuer is not None else None
            redirect_signature = None
            if binding == BINDING_HTTP_REDIRECT and signature and sigalg:
                # pysaml2 checks a query-string signature only when it requires one: check it always.
                certs = server.metadata.certs(sp_entity_id, "any", "signing")
                signed = {"SAMLRequest": saml_request, "SigAlg": sigalg, "Signature": signature}
                if relay_state is not None:
                    signed["RelayState"] = relay_state
                redirect_signature = any(
                    verify_redirect_signature(signed, server.sec.sec_backend, cert) for _, cert in certs
                )
            idp.last_request = {
                "id": msg.id,
                "issuer": sp_entity_id,
                "binding": binding,
                "destination": msg.destination,
                "acs_url": msg.assertion_consumer_service_url,
                "relay_state": relay_state,
                "redirect_signature_valid": redirect_signature,
                "sig_alg": sigalg,
                "xml_signed": msg.signature is not None,
                "xml": req.xmlstr.decode("utf-8") if isinstance(req.xmlstr, bytes) else req.xmlstr,
            }
            if redirect_signature is False:
                log.warning("AuthnRequest refused: bad query-string signature")
                return text(400, "AuthnRequest refused: bad query-string signature")
            try:
                args = server.response_args(msg, bindings=[BINDING_HTTP_POST])
            except Exception as exc:
                log.warning("no ACS for %s: %r", sp_entity_id, exc)
                return text(400, f"no usable AssertionConsumerService: {exc!r}")
            user = idp.find_user(params.get("user"))
            if user is None:
                return text(403, "no such user at the test IdP (name one with ?user= or /__test/config user)")
            b64 = idp.respond(server, user, sp_entity_id, args["destination"], msg.id, relay_state)
            return Response(auto_post_form(args["destination"], b64, relay_state), mimetype="text/html")

    @app.get("/sso/redirect")
    def sso_redirect():
        return sso(BINDING_HTTP_REDIRECT, request.args)

    @app.post("/sso/post")
    def sso_post():
        params = dict(request.form)
        if "user" in request.args:
            params["user"] = request.args["user"]
        return sso(BINDING_HTTP_POST, params)

    # ---- test administration ----
    @app.get("/__test/config")
    def get_config():
        return jsonr(200, idp.config)

    @app.post("/__test/config")
    def set_config():
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict):
            return jsonr(400, {"error": "JSON object expected"})
        unknown = set(body) - set(DEFAULT_CONFIG) - {"reset"}
        if unknown:
            return jsonr(400, {"error": f"unknown keys: {sorted(unknown)}"})
        with idp.lock:
            if body.get("reset"):
                idp.config = dict(DEFAULT_CONFIG)
            for k, v in body.items():
                if k != "reset":
                    idp.config[k] = v
        return jsonr(200, idp.config)

    @app.post("/__test/reset")
    def reset():
        with idp.lock:
            idp.config = dict(DEFAULT_CONFIG)
            idp.last_response = None
            idp.last_request = None
        return jsonr(200, idp.config)

    @app.get("/__test/last_response")
    def last_response():
        if idp.last_response is None:
            return jsonr(404, {"error": "no response yet"})
        return jsonr(200, idp.last_response)

    @app.get("/__test/last_request")
    def last_request():
        if idp.last_request is None:
            return jsonr(404, {"error": "no request yet"})
        return jsonr(200, idp.last_request)

    @app.post("/__test/users")
    def set_users():
        try:
            users = parse_users(request.get_data())
        except ValueError as exc:
            return jsonr(400, {"error": str(exc)})
        idp.users = users
        return jsonr(200, {"users": users})

    @app.get("/__test/users")
    def get_users():
        return jsonr(200, {"users": idp.users})

    @app.post("/__test/idp_initiated")
    def idp_initiated():
        """An unsolicited Response (no InResponseTo) for the SP, as JSON, or as the auto-post form
        with ?format=html. ?user= picks the user, ?relay_state= adds a RelayState."""
        try:
            server = idp.server()
        except Exception as exc:
            return jsonr(502, {"error": f"cannot load the SP metadata: {exc}"})
        with idp.lock:
            sps = sorted(server.metadata.with_descriptor("spsso"))
            sp_entity_id = request.args.get("sp") or (sps[0] if len(sps) == 1 else None)
            if not sp_entity_id:
                return jsonr(400, {"error": f"name the SP with ?sp= (known: {sps})"})
            try:
                _, acs_url = server.pick_binding(
                    "assertion_consumer_service", [BINDING_HTTP_POST], "spsso", entity_id=sp_entity_id
                )
            except Exception as exc:
                return jsonr(400, {"error": f"no HTTP-POST ACS for {sp_entity_id}: {exc!r}"})
            user = idp.find_user(request.args.get("user"))
            if user is None:
                return jsonr(403, {"error": "no such user"})
            relay_state = request.args.get("relay_state")
            saved = idp.config["in_response_to"]
            idp.config["in_response_to"] = "" if saved is None else saved
            try:
                b64 = idp.respond(server, user, sp_entity_id, acs_url, None, relay_state)
            finally:
                idp.config["in_response_to"] = saved
            if request.args.get("format") == "html":
                return Response(auto_post_form(acs_url, b64, relay_state), mimetype="text/html")
            return jsonr(200, idp.last_response)

    return app


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, required=True)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--sp-metadata-url")
    src.add_argument("--sp-metadata-file")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--users")
    a = ap.parse_args()

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="idp.py %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("saml2").setLevel(logging.CRITICAL)  # its errors are reported by this script

    try:
        users = parse_users(a.users) if a.users else [dict(u) for u in DEFAULT_USERS]
    except ValueError as exc:
        ap.error(f"--users: {exc}")
    os.makedirs(a.workdir, exist_ok=True)
    key_file, cert_file = make_key_and_cert(a.workdir)

    httpd = make_server("127.0.0.1", a.port, None, threaded=True)
    base = f"http://127.0.0.1:{httpd.server_port}"
    sp_file = os.path.abspath(a.sp_metadata_file) if a.sp_metadata_file else None
    idp = IdP(base, a.workdir, key_file, cert_file, a.sp_metadata_url, sp_file, users)
    httpd.app = create_app(idp)
    idp.metadata_xml()  # fail now, not at the first request, if the configuration is unusable

    def stop(*_):
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def watch_parent(initial=os.getppid()):
        # If whoever started us goes away (e.g. a pyenv shim killed by PID), do not linger.
        while os.getppid() == initial:
            time.sleep(0.5)
        stop()

    threading.Thread(target=watch_parent, daemon=True).start()
    sys.stdout.write(f"READY {base}\n")
    sys.stdout.flush()
    httpd.serve_forever()
    httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
