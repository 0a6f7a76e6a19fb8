"""The admin's policy for one LMTP session: the Handler the state machine calls.

handle_rcpt  recipient resolution (lmtpd/recipients.py) and the quota check
             at RCPT time (452 4.2.2, or 552 5.2.2 under
             lmtp_over_quota_perm_failure);
handle_data  delivery (lmtpd/delivery.py);
AUTH hooks   SASL from pillarbox.sasl; only `admins` may authenticate
             (LMTP AUTH proves an MTA is trusted to hand over anyone's mail).

Quota at RCPT: with lmtp_strict_quota the declared SIZE must fit; without
it a recipient is refused only when already at or over the limit. The store
itself always refuses an append that would exceed the limit, so a message
that does not fit is refused at DATA in both modes.
"""

from __future__ import annotations

import sqlite3

from lmtpd.delivery import Deliverer, Origin, StoreCache, quota_reply, store_failure
from lmtpd.machine import Envelope
from lmtpd.protocol import Path, Reply
from lmtpd.recipients import RecipientResolver, UnknownRecipient
from lmtpd.data import ReceivedMessage
from pillarbox import log, sasl
from pillarbox.auth import AuthConfigError, PasswdError
from pillarbox.config import Config
from pillarbox.logins import pause_after_failure
from pillarbox.store import StoreError


class StorePolicy:
    def __init__(self, config: Config, origin: Origin, *, session=None, no_password: bool = False):
        self.config = config
        self.session = session
        self.no_password = no_password
        self.origin = origin
        self.stores = StoreCache(config)
        self.resolver = RecipientResolver(config)
        self.deliverer = Deliverer(config, self.stores, origin)
        self.strict_quota = config.getbool("lmtp_strict_quota")
        self.auth_failures = 0

    def close(self) -> None:
        self.stores.close()

    # ------------------------------------------------------------ transaction

    def handle_mail(self, envelope: Envelope) -> Reply | None:
        return None

    def handle_rcpt(self, envelope: Envelope, path: Path) -> tuple[Reply, object]:
        who = str(path)
        try:
            targets = self.resolver.resolve(path.address)
        except UnknownRecipient:
            log.info(f"lmtp: unknown recipient {who} session={self.origin.session_id}")
            return Reply(550, "5.1.1", f"{who} User unknown"), None
        except (PasswdError, AuthConfigError, OSError) as exc:     # the password file unreadable, ...
            log.error(f"lmtp: cannot resolve {who}: {exc} session={self.origin.session_id}")
            return store_failure(who), None
        for target in targets:
            try:
                store = self.stores.get(target.user)
                full = self._over_quota(store, envelope.size or 0)
            except (StoreError, OSError, sqlite3.Error) as exc:
                log.error(f"lmtp: cannot open the store of {target.user}: {exc} session={self.origin.session_id}")
                return store_failure(who), None
            if full:
                log.notice(f"lmtp: {target.user} is over quota ({full}); {who} refused "
                           f"session={self.origin.session_id}")
                return quota_reply(self.config, who), None
        return Reply(250, "2.1.5", f"{who} Recipient ok"), targets

    def _over_quota(self, store, size: int) -> str | None:
        usage = store.quota()
        used_kib, limit_kib = usage["STORAGE"]
        count, limit_count = usage["MESSAGE"]
        adding_kib = (size + 1023) // 1024 if self.strict_quota else 0
        if limit_kib is not None and (used_kib + adding_kib > limit_kib if adding_kib else used_kib >= limit_kib):
            return f"STORAGE {used_kib} of {limit_kib} KiB"
        if limit_count is not None and count >= limit_count:
            return f"MESSAGE {count} of {limit_count}"
        return None

    def handle_data(self, envelope: Envelope, message: ReceivedMessage) -> list[Reply]:
        return self.deliverer.deliver(envelope, message)

    # ------------------------------------------------------------ AUTH

    def auth_mechanisms(self, *, plaintext_ok: bool) -> list[str]:
        return sasl.offered_mechanisms(self.config, plaintext_ok=plaintext_ok)

    def new_mechanism(self, name: str):
        return sasl.new_mechanism(name, self.config, bypass_password=self.no_password)

    def authorize(self, identity, mechanism: str) -> str:
        user = sasl.authorize(self.config, identity)
        if identity.authcid not in self.config.getlist("admins"):
            raise sasl.SaslError(f"{identity.authcid} is not in admins: only admins may deliver over LMTP")
        if self.session is not None:
            self.session.login_succeeded(user, mechanism)
        return user

    def auth_failed(self, who: str | None, mechanism: str, reason: str) -> None:
        if self.session is not None:
            self.session.login_failed(who, mechanism, reason)
        self.auth_failures += 1
        pause_after_failure(self.config, self.auth_failures)
