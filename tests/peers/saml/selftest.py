#!/usr/bin/env python3
"""Self-test of idp.py: starts it on a free loopback port with a dummy SP (entityID
http://127.0.0.1:1/sp, ACS http://127.0.0.1:1/acs), sends pysaml2-built AuthnRequests, takes the
SAMLResponse out of the auto-post form and verifies it with pysaml2 acting as the SP.
Exits 0 when every check passes, 1 otherwise.   Run: python3 tests/peers/saml/selftest.py
"""

import base64
import copy
import html
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings

from cryptography.utils import CryptographyDeprecationWarning

warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning)

import logging  # noqa: E402

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT  # noqa: E402
from saml2.client import Saml2Client  # noqa: E402
from saml2.config import SPConfig  # noqa: E402
from saml2.metadata import entity_descriptor, metadata_tostring_fix  # noqa: E402
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS  # noqa: E402
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256  # noqa: E402

logging.getLogger("saml2").setLevel(logging.CRITICAL)

HERE = os.path.dirname(os.path.abspath(__file__))
IDP = os.path.join(HERE, "idp.py")
SP_ENTITY = "http://127.0.0.1:1/sp"
ACS = "http://127.0.0.1:1/acs"
XMLSEC = shutil.which("xmlsec1")

passed = 0
failed = 0


def check(name, cond, extra=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name} {extra}")


def fetch(method, url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8")


def post_json(url, body):
    return fetch("POST", url, json.dumps(body).encode(), {"content-type": "application/json"})


def make_sp_key(workdir):
    key = os.path.join(workdir, "sp.key")
    crt = os.path.join(workdir, "sp.crt")
    # the same cryptography code the IdP uses, to avoid needing the openssl CLI
    sys.path.insert(0, HERE)
    from idp import make_key_and_cert  # noqa: E402

    k, c = make_key_and_cert(workdir)
    os.replace(k, key)
    os.replace(c, crt)
    return key, crt


def sp_conf(workdir, idp_md=None, **sp):
    service = {
        "endpoints": {"assertion_consumer_service": [(ACS, BINDING_HTTP_POST)]},
        "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
        "want_response_signed": True,
        "want_assertions_signed": True,
        "want_assertions_or_response_signed": True,
        "authn_requests_signed": False,
        "allow_unsolicited": False,
    }
    service.update(sp)
    return {
        "entityid": SP_ENTITY,
        "service": {"sp": service},
        "key_file": os.path.join(workdir, "sp.key"),
        "cert_file": os.path.join(workdir, "sp.crt"),
        "xmlsec_binary": XMLSEC,
        "metadata": {"local": [idp_md]} if idp_md else {},
        "signing_algorithm": SIG_RSA_SHA256,
        "digest_algorithm": DIGEST_SHA256,
        "accepted_time_diff": 10,
    }


def client(workdir, idp_md, **sp):
    conf = SPConfig().load(copy.deepcopy(sp_conf(workdir, idp_md, **sp)))
    return Saml2Client(config=conf)


def sp_metadata(workdir):
    conf = SPConfig().load(copy.deepcopy(sp_conf(workdir, authn_requests_signed=True)))
    ed = entity_descriptor(conf)
    ed.extensions = None
    xml = metadata_tostring_fix(ed, {"xs": "http://www.w3.org/2001/XMLSchema"}, None)
    return xml if isinstance(xml, bytes) else xml.encode()


def start_idp(args):
    proc = subprocess.Popen(
        [sys.executable, IDP, "--port", "0", *args], stdout=subprocess.PIPE, stderr=None, text=True
    )
    line = proc.stdout.readline().strip()
    m = re.fullmatch(r"READY (http://127\.0\.0\.1:\d+)", line)
    if not m:
        proc.kill()
        raise RuntimeError(f"unexpected first line from idp.py: {line!r}")
    return proc, m.group(1)


def parse_form(page):
    action = re.search(r'<form method="post" action="([^"]+)"', page)
    resp = re.search(r'name="SAMLResponse" value="([^"]+)"', page)
    rs = re.search(r'name="RelayState" value="([^"]*)"', page)
    return (
        html.unescape(action.group(1)) if action else None,
        html.unescape(resp.group(1)) if resp else None,
        html.unescape(rs.group(1)) if rs else None,
    )


def redirect_login(cl, idp_entity, relay_state="rs-1", extra_query=""):
    reqid, info = cl.prepare_for_authenticate(
        entityid=idp_entity, relay_state=relay_state, binding=BINDING_HTTP_REDIRECT
    )
    url = dict(info["headers"])["Location"] + extra_query
    status, page = fetch("GET", url)
    return reqid, url, status, page


def sp_accepts(cl, saml_response, reqid):
    """(accepted, AuthnResponse or exception)"""
    try:
        outstanding = {reqid: "/"} if reqid else {}
        r = cl.parse_authn_request_response(saml_response, BINDING_HTTP_POST, outstanding=outstanding)
        return (r is not None, r)
    except Exception as exc:  # pysaml2 raises a variety of errors for bad responses
        return (False, exc)


def xml_of(b64):
    return base64.b64decode(b64).decode("utf-8")


def main(workdir):
    make_sp_key(workdir)
    sp_md_file = os.path.join(workdir, "sp-metadata.xml")
    with open(sp_md_file, "wb") as f:
        f.write(sp_metadata(workdir))

    proc, base = start_idp(["--sp-metadata-file", sp_md_file, "--workdir", os.path.join(workdir, "idp")])
    try:
        idp_entity = f"{base}/metadata"
        status, md = fetch("GET", f"{base}/metadata")
        check("GET /metadata", status == 200 and f'entityID="{idp_entity}"' in md)
        check(
            "metadata lists HTTP-Redirect and HTTP-POST SSO",
            f'Location="{base}/sso/redirect"' in md and f'Location="{base}/sso/post"' in md,
        )
        idp_md = os.path.join(workdir, "idp-metadata.xml")
        with open(idp_md, "w") as f:
            f.write(md)

        strict = client(workdir, idp_md)

        # 1. the good path, HTTP-Redirect
        reqid, _, status, page = redirect_login(strict, idp_entity)
        action, resp, rs = parse_form(page)
        check("SSO redirect answers an auto-post form", status == 200 and "document.forms[0].submit()" in page)
        check("form posts to the ACS with RelayState", action == ACS and rs == "rs-1", f"{action} {rs}")
        ok, r = sp_accepts(strict, resp, reqid)
        check("pysaml2 SP accepts (response + assertion signatures required)", ok, repr(r))
        if ok:
            check(
                "NameID is the email, format emailAddress",
                r.name_id.text == "alice@idp.test" and r.name_id.format == NAMEID_FORMAT_EMAILADDRESS,
            )
            ava = r.get_identity()
            check("attributes mail/givenName/sn", ava.get("mail") == ["alice@idp.test"] and ava.get("givenName") == ["Alice"] and ava.get("sn") == ["Liddell"], json.dumps(ava))
            check("InResponseTo is the request ID", r.in_response_to == reqid)
        x = xml_of(resp)
        check(
            "RSA-SHA256 signatures with SHA-256 digests, two of them",
            x.count('SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"') == 2
            and x.count('DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"') == 2
            and "rsa-sha1" not in x,
        )
        check("email also as urn:oid:0.9.2342.19200300.100.1.3", 'Name="urn:oid:0.9.2342.19200300.100.1.3"' in x)
        status, last = fetch("GET", f"{base}/__test/last_response")
        last = json.loads(last)
        check(
            "/__test/last_response",
            status == 200 and last["saml_response"] == resp and last["relay_state"] == "rs-1" and last["acs_url"] == ACS,
        )
        ok2, _ = sp_accepts(strict, resp, None)
        check("replay without the outstanding request is refused", not ok2)

        # 2. HTTP-POST binding
        req_id, req = strict.create_authn_request(f"{base}/sso/post", sign=False)
        body = urllib.parse.urlencode({"SAMLRequest": base64.b64encode(str(req).encode()).decode(), "RelayState": "rs-post"}).encode()
        status, page = fetch("POST", f"{base}/sso/post", body, {"content-type": "application/x-www-form-urlencoded"})
        action, resp, rs = parse_form(page)
        ok, r = sp_accepts(strict, resp, req_id) if resp else (False, page)
        check("SSO via HTTP-POST works", status == 200 and ok and rs == "rs-post", repr(r))

        # 3. signed AuthnRequests (HTTP-Redirect query signature)
        signer = client(workdir, idp_md, authn_requests_signed=True)
        reqid, url, status, page = redirect_login(signer, idp_entity)
        _, last_req = fetch("GET", f"{base}/__test/last_request")
        check("signed redirect AuthnRequest accepted and verified", status == 200 and json.loads(last_req)["redirect_signature_valid"] is True, last_req)
        bad = re.sub(r"Signature=([^&]{10})", lambda m: "Signature=" + ("A" * 10), url)
        status, _ = fetch("GET", bad)
        check("bad query-string signature -> 400", status == 400)
        post_json(f"{base}/__test/config", {"want_authn_requests_signed": True})
        _, _, status, _ = redirect_login(strict, idp_entity)
        check("want_authn_requests_signed: unsigned request -> 400", status == 400)
        _, _, status, _ = redirect_login(signer, idp_entity)
        check("want_authn_requests_signed: signed request -> 200", status == 200)
        status, cfg = post_json(f"{base}/__test/config", {"reset": True})
        check("config reset", status == 200 and json.loads(cfg)["want_authn_requests_signed"] is False)

        # 4. toggles
        def with_config(cfg, sp=None):
            post_json(f"{base}/__test/config", {"reset": True, **cfg})
            rid, _, st, pg = redirect_login(strict, idp_entity)
            _, b64, _ = parse_form(pg)
            return rid, b64

        rid, b64 = with_config({"sign_response": False})
        x = xml_of(b64)
        only_assertion = client(workdir, idp_md, want_response_signed=False, want_assertions_signed=True)
        check(
            "sign_response=false: one signature, inside the assertion",
            len(re.findall(r"<ns\d+:Signature[\s>]", x)) == 1
            and re.search(r"<ns\d+:Assertion[^>]*>.*<ns\d+:Signature[\s>]", x) is not None,
        )
        check("sign_response=false: SP wanting only assertion signatures accepts", sp_accepts(only_assertion, b64, rid)[0])
        check("sign_response=false: SP wanting a signed response refuses", not sp_accepts(strict, b64, rid)[0])

        rid, b64 = with_config({"sign_assertion": False})
        only_response = client(workdir, idp_md, want_response_signed=True, want_assertions_signed=False)
        check("sign_assertion=false: SP wanting only a response signature accepts", sp_accepts(only_response, b64, rid)[0])
        check("sign_assertion=false: SP wanting signed assertions refuses", not sp_accepts(strict, b64, rid)[0])

        rid, b64 = with_config({"sign_assertion": False, "sign_response": False})
        check("no signatures at all: no Signature element", "Signature" not in xml_of(b64))
        lax = client(workdir, idp_md, want_response_signed=False, want_assertions_signed=False,
                     want_assertions_or_response_signed=True)
        check("no signatures: SP wanting either refuses", not sp_accepts(lax, b64, rid)[0])

        rid, b64 = with_config({"audience": "http://127.0.0.1:1/not-me"})
        check("audience=other: refused", not sp_accepts(strict, b64, rid)[0])
        check("audience=other: in the XML", "<ns1:Audience>http://127.0.0.1:1/not-me<" in xml_of(b64))

        rid, b64 = with_config({"in_response_to": "id-bogus"})
        check("in_response_to=other: refused", not sp_accepts(strict, b64, rid)[0])
        check("in_response_to=other: in the XML", 'InResponseTo="id-bogus"' in xml_of(b64))

        rid, b64 = with_config({"not_on_or_after_offset_seconds": -600})
        check("not_on_or_after_offset_seconds=-600: refused", not sp_accepts(strict, b64, rid)[0])

        rid, b64 = with_config({"not_on_or_after_offset_seconds": 3600})
        check("not_on_or_after_offset_seconds=3600: accepted", sp_accepts(strict, b64, rid)[0])

        rid, b64 = with_config({"tamper_nameid": "mallory@idp.test"})
        check("tamper_nameid: NameID changed", ">mallory@idp.test</ns1:NameID>" in xml_of(b64))
        check("tamper_nameid: signature check fails", not sp_accepts(strict, b64, rid)[0])

        post_json(f"{base}/__test/config", {"reset": True})
        rid, b64 = with_config({})
        check("defaults again: accepted", sp_accepts(strict, b64, rid)[0])

        # 5. IdP-initiated
        status, body = fetch("POST", f"{base}/__test/idp_initiated?user=alice")
        d = json.loads(body)
        x = xml_of(d["saml_response"])
        check("idp_initiated: no InResponseTo", status == 200 and "InResponseTo" not in x and d["acs_url"] == ACS)
        unsolicited = client(workdir, idp_md, allow_unsolicited=True)
        ok, r = sp_accepts(unsolicited, d["saml_response"], None)
        check("idp_initiated: SP allowing unsolicited accepts", ok and r.name_id.text == "alice@idp.test", repr(r))
        check("idp_initiated: SP refusing unsolicited refuses", not sp_accepts(strict, d["saml_response"], None)[0])

        # 6. users
        two = [{"id": "alice", "email": "alice@idp.test", "givenName": "Alice", "sn": "Liddell"},
               {"id": "bob", "email": "Bob@IdP.test", "givenName": "Bob", "sn": "Builder"}]
        status, _ = post_json(f"{base}/__test/users", two)
        check("/__test/users", status == 200)
        _, _, status, _ = redirect_login(strict, idp_entity)
        check("two users, none named -> 403", status == 403)
        rid, _, status, page = redirect_login(strict, idp_entity, extra_query="&user=bob")
        ok, r = sp_accepts(strict, parse_form(page)[1] or "", rid)
        check("?user=bob (appended to the SSO URL)", ok and r.name_id.text == "Bob@IdP.test")
        post_json(f"{base}/__test/config", {"user": "bob@idp.test"})
        rid, _, status, page = redirect_login(strict, idp_entity)
        ok, r = sp_accepts(strict, parse_form(page)[1] or "", rid)
        check("config user=bob@idp.test", ok and r.name_id.text == "Bob@IdP.test")
        post_json(f"{base}/__test/config", {"user": "nobody"})
        _, _, status, _ = redirect_login(strict, idp_entity)
        check("config user unknown -> 403", status == 403)
    finally:
        proc.terminate()
        try:
            code = proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = None
        rest = proc.stdout.read()
    check("SIGTERM exits with status 0", code == 0, repr(code))
    check("nothing but READY on stdout", rest == "", repr(rest))

    # 7. --sp-metadata-url, SP started after the IdP
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sp_port = sock.getsockname()[1]
    sock.close()
    md_bytes = sp_metadata(workdir)
    proc, base = start_idp(["--sp-metadata-url", f"http://127.0.0.1:{sp_port}/sp/metadata",
                            "--workdir", os.path.join(workdir, "idp2")])
    try:
        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("content-type", "application/samlmetadata+xml")
                self.end_headers()
                self.wfile.write(md_bytes)

            def log_message(self, *a):
                pass

        idp_md = os.path.join(workdir, "idp2-metadata.xml")
        with open(idp_md, "w") as f:
            f.write(fetch("GET", f"{base}/metadata")[1])
        cl = client(workdir, idp_md)
        _, _, status, _ = redirect_login(cl, f"{base}/metadata")
        check("--sp-metadata-url: SP not up yet -> 502", status == 502)
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", sp_port), H)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        rid, _, status, page = redirect_login(cl, f"{base}/metadata")
        ok, r = sp_accepts(cl, parse_form(page)[1] or "", rid)
        check("--sp-metadata-url: metadata fetched lazily, sign-in works", status == 200 and ok, repr(r))
        srv.shutdown()
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    if not XMLSEC:
        print("FAIL xmlsec1 not installed (apt-get install -y xmlsec1)")
        sys.exit(1)
    start = time.time()
    with tempfile.TemporaryDirectory(prefix="saml-selftest-") as wd:
        try:
            main(wd)
        except Exception as exc:
            import traceback

            traceback.print_exc()
            failed += 1
            print(f"FAIL exception: {exc!r}")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
