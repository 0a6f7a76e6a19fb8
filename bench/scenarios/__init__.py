"""Every benchmark scenario, in the order a run takes them (memory last: it restarts the servers)."""

from bench.scenarios.base import Context, MailboxSpec, Scenario
from bench.scenarios.bigmailbox import BigMailboxScenario
from bench.scenarios.connect import ConnectScenario
from bench.scenarios.lmtp import LmtpScenario
from bench.scenarios.memory import MemoryScenario
from bench.scenarios.mix import MixScenario
from bench.scenarios.pop3 import Pop3Scenario

ALL: tuple[Scenario, ...] = (ConnectScenario(), MixScenario(), BigMailboxScenario(), Pop3Scenario(),
                             LmtpScenario(), MemoryScenario())

__all__ = ["ALL", "Context", "MailboxSpec", "Scenario"]
