# pillarbox: `make run` starts the whole server on ./var, `make test` runs every test.
# Both bootstrap .venv on a fresh machine (python3 >= 3.11 and make are all it needs).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: run test man clean distclean bytecode test-tools bench

# Workers are exec'd per pool slot: precompiled bytecode keeps their start-up
# cheap even where PYTHONDONTWRITEBYTECODE is set.
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q master imapd pop3d lmtpd idled pillarbox

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "pillarbox needs Python >= 3.11, $(PYTHON) is " + sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { \
	  echo "cannot create $(VENV): on Debian/Ubuntu install python3-venv (apt-get install python3-venv)"; exit 1; }
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,test]' --config-settings editable_mode=compat
	@touch $(STAMP)

run: bytecode
	@$(BIN)/python -m pillarbox.devsetup -C conf/dev/imapd.conf
	@echo "pillarbox is starting on loopback:"
	@echo "  IMAP 127.0.0.1:1143   IMAPS 127.0.0.1:1993   POP3 127.0.0.1:1110   POP3S 127.0.0.1:1995"
	@echo "  LMTP 127.0.0.1:2424   LMTP socket var/socket/lmtp"
	@echo "  idled holds quiet IDLE sessions (var/lib/socket/idle, back via var/lib/socket/imapresume)"
	@echo "  user: demo   password: demo      (Ctrl-C stops everything)"
	exec $(BIN)/master -C conf/dev/imapd.conf -M conf/dev/cyrus.conf

test-tools:
	@bash .ci/test-tools

test: bytecode test-tools
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# pillarbox beside a private Dovecot (installed with apt-get; needs root): bench/README.md
BENCH_ARGS ?=
BENCH_STAMP := $(VENV)/.bench-stamp

$(BENCH_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[bench]' --config-settings editable_mode=compat
	@touch $@

bench: bytecode $(BENCH_STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

man:
	@for page in man/*.[0-9]; do echo "== $$page"; MANWIDTH=80 man -l $$page | head -5; done

clean:
	rm -rf var .pytest_cache build *.egg-info
	find . -name __pycache__ -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
