"""pillarbox benchmarks.

`make bench` (or `python -m bench`) runs every scenario against pillarbox and a
private Dovecot instance on the same machine, with the same users, the same
mail and the same load, and writes bench/results/<timestamp>/ (results.md,
results.json, latency.png). See bench/README.md.

bench/startup.py, bench/store.py and bench/lmtp.py are stand-alone
measurements of pillarbox alone (worker start-up, the store API, LMTP
delivery) and still run as scripts.
"""
