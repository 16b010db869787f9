#!/usr/bin/env python3
"""A local SMTP server for the email destination's tests (aiosmtpd, pinned in Tests/requirements.txt).

Listens on 127.0.0.1 on a port the system picks and prints `PORT <n>` first. Each message it
accepts is read with Python's own email parser and printed as one line `MESSAGE <json>`: the
envelope, the headers as decoded, each MIME part's type and decoded text, and the user that
authenticated. Only the user name is ever printed, never a password.

Recipients steer the answers:
  reject550@...        RCPT TO answered 550 (permanent)
  fail451-<n>@...      RCPT TO answered 451 for the first <n> attempts of that address, then 250

With --user and --password, AUTH is required (aiosmtpd's auth_require_tls=False: the tests speak
plain SMTP on 127.0.0.1) and only that pair is accepted; a wrong one is answered 535.

Exits when its standard input closes (the test process ended), so no server outlives its test.
"""

import argparse
import asyncio
import email
import email.policy
import json
import sys
import threading
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Handler:
    def __init__(self):
        self.attempts = {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local == "reject550":
            return "550 5.1.1 No such mailbox"
        if local.startswith("fail451-"):
            seen = self.attempts.get(address, 0) + 1
            self.attempts[address] = seen
            try:
                failures = int(local.split("-", 1)[1])
            except ValueError:
                failures = 1
            if seen <= failures:
                return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        parts = []
        for part in message.walk():
            if part.is_multipart():
                continue
            parts.append(
                {
                    "type": part.get_content_type(),
                    "charset": part.get_content_charset(),
                    "encoding": part.get("Content-Transfer-Encoding", ""),
                    "text": part.get_content(),
                }
            )
        raw_lines = envelope.content.split(b"\r\n")
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "subject": str(message["Subject"]),
            "from": str(message["From"]),
            "to": str(message["To"]),
            "date": str(message["Date"]),
            "message_id": str(message["Message-ID"]),
            "content_type": message.get_content_type(),
            "parts": parts,
            "longest_line": max(len(line) for line in raw_lines),
            "bare_lf": b"\n" in envelope.content.replace(b"\r\n", b""),
            "auth_user": session.auth_data if isinstance(session.auth_data, str) else None,
        }
        print("MESSAGE " + json.dumps(record), flush=True)
        return "250 2.0.0 Message accepted"


def make_authenticator(user, password):
    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == user
            and auth_data.password.decode() == password
        )
        if ok:
            print("AUTH " + json.dumps({"user": user, "mechanism": mechanism}), flush=True)
        else:
            print("AUTH_FAILED " + json.dumps({"mechanism": mechanism}), flush=True)
        return AuthResult(success=ok, handled=False, auth_data=user if ok else None)

    return authenticate


async def main():
    warnings.simplefilter("ignore")  # "AUTH without TLS": on purpose, 127.0.0.1 only
    parser = argparse.ArgumentParser()
    parser.add_argument("--user")
    parser.add_argument("--password")
    args = parser.parse_args()
    handler = Handler()
    loop = asyncio.get_running_loop()

    def factory():
        if args.user:
            return SMTP(
                handler,
                authenticator=make_authenticator(args.user, args.password or ""),
                auth_required=True,
                auth_require_tls=False,
            )
        return SMTP(handler)

    server = await loop.create_server(factory, host="127.0.0.1", port=0)
    print("PORT %d" % server.sockets[0].getsockname()[1], flush=True)
    stopped = asyncio.Event()

    def wait_for_stdin_to_close():
        sys.stdin.read()
        loop.call_soon_threadsafe(stopped.set)

    threading.Thread(target=wait_for_stdin_to_close, daemon=True).start()
    await stopped.wait()
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
