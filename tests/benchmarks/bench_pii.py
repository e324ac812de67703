"""PII detection throughput.

Run: ``.venv/bin/python tests/benchmarks/bench_pii.py [--mb 40] [--crafted-mb 4] [--stream-mb 200]``

Generates a realistic log (seeded, from templates of nginx, syslog, Java,
Kubernetes, JSON application lines, about 1 line in 8 carrying PII) and
prints MB/s for:

* ``detect_pii`` (the product: the Hyperscan prefilter when installed) on one
  core, in CPU time; on two cores (``tftsr.pii.split``: a forked copy scans half
  the log), in wall time, with the CPU time of both processes; and its
  pure-Python path (``prefilter=False``, one core),
* the worst case: ``detect_pii`` on each of a set of crafted inputs of
  ``--crafted-mb`` MB (long runs of one separator, repeated key prefixes,
  token prefixes, non-ASCII text, one endless line...) and ``iter_pii`` on a
  single line fed in small pieces; each is named with its MB/s and the
  ratio of the ordinary log's speed to its own (the first ``--crafted-mb``
  MB of the log, timed in turn with each input, so that both see the machine
  at the same moment), then the slowest (the target is at most 8); text made
  only of findings is listed apart,
* with ``--render``: ``render_markdown`` on crafted Markdown (``![``,
  ``[``...) of the largest size it previews, and its refusal of 2 MB,
* a straightforward one-regex-per-type implementation (below, the way such
  detectors are usually written), on the same text,
* scrubadub, if installed (``.venv/bin/pip install scrubadub``, a
  benchmark-only dependency), on a slice, extrapolated,

then the peak memory of ``iter_pii_file`` over a generated file of
``--stream-mb`` MB. Times are the process's CPU time (``time.process_time``),
so that other work on a shared machine disturbs the figures less; the
detector is built by a small scan first (its one-off cost is printed apart),
and ``detect_pii`` on the log and on each crafted input is timed three times,
the least kept. Figures only: nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "backend"))

from tftsr.pii import detect_pii, iter_pii, iter_pii_file

TEMPLATES = [
    '{ip} - - [12/Mar/2024:09:{mm}:{ss} +0000] "GET /api/v1/orders/{n}?page={d} HTTP/1.1" 200 {n} "-" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/122.0.0.0 Safari/537.36"',
    '{ip} - - [12/Mar/2024:09:{mm}:{ss} +0000] "POST /login HTTP/1.1" 302 0 "https://{host}/login" "curl/8.4.0" rt=0.{d}',
    "Mar 12 09:{mm}:{ss} web{d} sshd[{n}]: Failed password for invalid user admin from {ip} port {n} ssh2",
    "Mar 12 09:{mm}:{ss} web{d} systemd[1]: api.service: Main process exited, code=exited, status=1/FAILURE",
    "Mar 12 09:{mm}:{ss} web{d} kernel: [{n}.{n}] eth0: NIC Link is Up 1000 Mbps Full Duplex",
    "2024-03-12 09:{mm}:{ss}.{n} ERROR {n} --- [nio-8080-exec-{d}] c.e.billing.InvoiceService : Charge failed for invoice {uuid}",
    "\tat com.example.billing.InvoiceService.charge(InvoiceService.java:{n}) ~[billing-core-3.2.1.jar!/:3.2.1]",
    "\tat org.springframework.transaction.interceptor.TransactionInterceptor.invoke(TransactionInterceptor.java:119)",
    'I0312 09:{mm}:{ss}.{n}    1823 kubelet.go:2410] "SyncLoop (PLEG): event for pod" pod="prod/api-7d9f8b6c5-x2x9z" event={{"ID":"{uuid}","Type":"ContainerDied"}}',
    '{{"level":"info","ts":"2024-03-12T09:{mm}:{ss}Z","msg":"request completed","path":"/v1/items/{n}","status":200,"duration_ms":{d}.{n},"trace_id":"{hex}"}}',
    '{{"level":"error","ts":"2024-03-12T09:{mm}:{ss}Z","msg":"upstream error","upstream":"{ip}:9000","retries":3,"version":"3.2.{d}"}}',
    "2024-03-12 09:{mm}:{ss},{n} INFO [celery.worker.strategy] Task tasks.send_email[{uuid}] received",
    "2024-03-12 09:{mm}:{ss} UTC [{n}] LOG:  duration: {n}.{d} ms  statement: SELECT * FROM orders WHERE id = {n}",
]
PII_TEMPLATES = [
    "2024-03-12 09:{mm}:{ss} INFO user {email} logged in from {ip}",
    "2024-03-12 09:{mm}:{ss} DEBUG db url postgres://app:{secret}@db.prod.internal:5432/orders",
    '{{"level":"debug","headers":{{"authorization":"Bearer {token}"}},"phone":"+1-202-555-{d4}"}}',
    "2024-03-12 09:{mm}:{ss} WARN config password={secret} api_key={token}",
    "2024-03-12 09:{mm}:{ss} ERROR card 4111 1111 1111 1111 declined for {email}",
    "Mar 12 09:{mm}:{ss} gw dhcpd: DHCPACK on {ip} to 52:54:00:ab:cd:{d2} via eth0 ({host})",
]
HOSTS = ["api.example.com", "db01.prod.internal", "shop.example.org", "ip-10-0-1-23.ec2.internal"]


def _fill(template: str, rng: random.Random) -> str:
    return template.format(
        ip=f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        mm=f"{rng.randint(0, 59):02d}", ss=f"{rng.randint(0, 59):02d}",
        n=rng.randint(1, 99999), d=rng.randint(0, 9), d2=f"{rng.randint(0, 255):02x}",
        d4=f"{rng.randint(0, 9999):04d}",
        uuid=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        hex=f"{rng.getrandbits(128):032x}", host=rng.choice(HOSTS),
        email=f"user{rng.randint(1, 9999)}@example.com",
        secret=f"S3cr3t-{rng.randint(0, 999999):06d}",
        token=f"{rng.getrandbits(160):040x}",
    )


def generate_log(size_bytes: int, seed: int = 42) -> str:
    rng = random.Random(seed)
    lines: list[str] = []
    total = 0
    while total < size_bytes:
        template = rng.choice(PII_TEMPLATES) if rng.random() < 0.125 else rng.choice(TEMPLATES)
        line = _fill(template, rng)
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines) + "\n"


# A straightforward detector: one regex per type, each run over the text,
# overlaps resolved by "longest wins". This is the baseline to beat.
NAIVE_PATTERNS = [
    ("UrlWithCredentials", r"[a-z][a-z0-9+\-.]*://[^:@/\s]+:[^@/\s]+@"),
    ("BearerToken", r"(?i)bearer\s+[A-Za-z0-9\-._~+/]+=*"),
    ("ApiKey", r"(?i)(?:api[_\-]?key|apikey|access[_\-]?token)\s*[=:]\s*[A-Za-z0-9\-._~+/]{16,}"),
    ("Password", r"(?i)(?:password|passwd|pwd)\s*[=:]\s*\S+"),
    ("Ssn", r"\b\d{3}-\d{2}-\d{4}\b"),
    ("CreditCard", r"\b(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|3[47][0-9]{13}|6(?:011|5[0-9]{2})[0-9]{12})\b"),
    ("Email", r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\b"),
    ("MacAddress", r"\b(?:[0-9A-Fa-f]{2}[:\-]){5}[0-9A-Fa-f]{2}\b"),
    ("Ipv6", r"(?i)\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b|\b(?:[0-9a-f]{1,4}:){1,7}:(?:[0-9a-f]{1,4})?\b"),
    ("Ipv4", r"\b(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\b"),
    ("PhoneNumber", r"\b(?:\+?1[-.\s]?)?\(?[0-9]{3}\)?[-.\s]?[0-9]{3}[-.\s]?[0-9]{4}\b"),
    ("Hostname", r"\b(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}\b"),
]
NAIVE_COMPILED = [(name, re.compile(p)) for name, p in NAIVE_PATTERNS]


def naive_detect(text: str) -> list[tuple[int, int, str]]:
    spans = [(m.start(), m.end(), name) for name, rx in NAIVE_COMPILED for m in rx.finditer(text)]
    spans.sort()
    kept: list[tuple[int, int, str]] = []
    for span in spans:
        if kept and span[0] < kept[-1][1]:
            if span[1] - span[0] > kept[-1][1] - kept[-1][0]:
                kept[-1] = span
            continue
        kept.append(span)
    return kept


def _mbps(size: int, seconds: float) -> float:
    return size / 1e6 / seconds


def bench(fn, text: str, repeat: int = 1) -> tuple[float, int]:
    best = float("inf")
    count = 0
    for _ in range(repeat):
        t0 = time.process_time()
        count = len(fn(text))
        best = min(best, time.process_time() - t0)
    return best, count


# --- the worst case -------------------------------------------------------------
# Inputs built to hit each shape the detector looks for as often as possible:
# every character a trigger, or a trigger whose look-ahead could run far.
# Each entry makes ``n`` characters.
def _repeat(unit: str):
    return lambda n: (unit * (n // len(unit) + 1))[:n]


def _base64_run(n: int) -> str:
    rng = random.Random(5)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    return "".join(rng.choice(alphabet) for _ in range(n))


def _one_line(n: int) -> str:
    return generate_log(n, seed=3).replace("\n", " ")[:n]


CRAFTED = {
    "token=a,": _repeat("token=a,"),
    "phone=1,": _repeat("phone=1,"),
    "sig=a&": _repeat("sig=a&"),
    "password=": _repeat("password="),
    "key=value; key=value": _repeat("api_key=x; "),
    "a=a=a=": _repeat("a="),
    "=====": _repeat("="),
    "digits": _repeat("1"),
    "1.1.1.1.": _repeat("1."),
    "1-1-1-": _repeat("1-"),
    "1 1 1 ": _repeat("1 "),
    "+1 +1": _repeat("+1 "),
    "(555) ": _repeat("(555) "),
    "dots": _repeat("."),
    "a.a.a.": _repeat("a."),
    "a.com": _repeat("a.com"),
    "a-a-a-": _repeat("a-"),
    "@@@@": _repeat("@"),
    "a@a.": _repeat("a@a."),
    "%%%%": _repeat("%"),
    "%40%40": _repeat("a%40"),
    "dashes": _repeat("-"),
    "colons": _repeat(":"),
    "a::a::": _repeat("a::"),
    "ab:ab:": _repeat("ab:"),
    "slashes": _repeat("/"),
    "base64 run": _base64_run,
    "eyJ.": _repeat("eyJabcdefghij."),
    "ghp_": _repeat("ghp_"),
    "x_ghp_": _repeat("x_ghp_"),
    "AKIA": _repeat("AKIA"),
    "sk-": _repeat("sk-"),
    "-----BEGIN ": _repeat("-----BEGIN "),
    "bearer ": _repeat("bearer "),
    "password is ": _repeat("password is "),
    "--password ": _repeat("--password "),
    "-p -p": _repeat("mysql -p"),
    "mysql -p ": _repeat("mysql -p "),
    "quotes": _repeat("'\""),
    "ssn 1": _repeat("ssn 1"),
    "phone 1 ": _repeat("phone 1 "),
    "zero-width": _repeat("a\u200b"),
    "full-width": _repeat("\uff11\uff20"),
    "non-ASCII prose": _repeat("Ünïcødé Straße пароль "),
    "token=hmac-a:": _repeat("token=hmac-a:"),
    "phone=1:": _repeat("phone=1:"),
    "password for x: ": _repeat("password for x: "),
    "curl -u a:b": _repeat("curl -u a:b "),
    "program names": _repeat("sshpass mongo curl redis-cli "),
    "a.co-": _repeat("a.co-"),
    "value=": _repeat("value="),
    "name=a value=": _repeat("name=a value="),
    "--token ": _repeat("--token "),
    "call me at ": _repeat("call me at "),
    "%3A%3A": _repeat("%3A"),
    "ligatures": _repeat("\ufb01"),
    "zero-width only": _repeat("\u200b"),
    "look-alikes": _repeat("p\u0430s"),
    "spaces": _repeat(" "),
    "newlines": _repeat("\n"),
    "one endless line": _one_line,
    "pwd='a' ": _repeat("pwd='a' "),
    "key=": _repeat("key="),
    "no: x ": _repeat("no: x "),
    "tel:": _repeat("tel:"),
    "ssn=123456789012 ": _repeat("ssn=123456789012 "),
    '"password": "': _repeat('"password": "'),
    "curl -u ": _repeat("curl -u "),
    "1234567890 ": _repeat("1234567890 "),
    "token=x.... (1,000 dots)": _repeat("token=x" + "." * 1000 + " "),
    "ssn: ": _repeat("ssn: "),
    "token= ": _repeat("token= "),
    "apikey: ": _repeat("apikey: "),
    "X-Api-Key: ": _repeat("X-Api-Key: "),
    "passwd: ": _repeat("passwd: "),
    "net use ": _repeat("net use "),
    "net use /user: ": _repeat("net use /user: "),
    "password: ": _repeat("password: "),
    "[::": _repeat("[::"),
    "cc=4": _repeat("cc=4"),
    "SSN: 1": _repeat("SSN: 1"),
    "card: 4": _repeat("card: 4"),
    "mobile: +": _repeat("mobile: +"),
    "phone=123,": _repeat("phone=123,"),
    "fax: 123 ": _repeat("fax: 123 "),
    "card_number=1234 ": _repeat("card_number=1234 "),
    "token=abcdef ": _repeat("token=abcdef "),
    # values read and rejected, each holding the next key (read in its own right)
    "phone=1-": _repeat("phone=1-"),
    "pwd=/a/": _repeat("pwd=/a/"),
    "phone=N/A|": _repeat("phone=N/A|"),
    "ssn=1/token=x/": _repeat("ssn=1/token=x/"),
    # commands that read a password from standard input, piped from nothing or a short word
    "a|--stdin ": _repeat("a|--stdin "),
    "x|chpasswd ": _repeat("x|chpasswd "),
    "echo x|sudo -S ": _repeat("echo x|sudo -S "),
    # values ended by the next "&name=" or "|name=", and values that an "&" before no
    # "=" carries on for up to 1,024 characters, each holding the next keys
    "card=123&": _repeat("card=123&"),
    "tel=123|": _repeat("tel=123|"),
    "token:123&": _repeat("token:123&"),
    "card:1-1&": _repeat("card:1-1&"),
    # keys each read in turn: values long enough to be read, none of them a finding
    "ssn: 123456789012 ": _repeat("ssn: 123456789012 "),
    "tel: 1-1&": _repeat("tel: 1-1&"),
}


# Text that is nothing but findings, one every 5-14 characters (an ordinary
# log has about one every 200): its cost is the cost of each finding, so it
# is reported on its own line.
DENSE = {
    "a::b (IPv6)": _repeat("a::b "),
    "fe80::1": _repeat("fe80::1 "),
    "a@b.co": _repeat("a@b.co "),
    "a.b.com": _repeat("a.b.com "),
    "10.0.0.1": _repeat("10.0.0.1 "),
    "::ffff:1.2.3.4": _repeat("::ffff:1.2.3.4 "),
    "+14155550123": _repeat("+14155550123 "),
    "219-09-9999": _repeat("219-09-9999 "),
    "http://a:b@": _repeat("http://a:b@"),
    "sshpass -p": _repeat("sshpass -p "),
    "415 555 0165": _repeat("415 555 0165 "),
    "a@b.c (each overlaps the next)": _repeat("a@b.c"),
}


def _against_ordinary(name: str, run, size: int, ordinary: str, repeat: int = 3) -> tuple[float, float, str]:
    """Time ``run()`` (a scan of an input of ``size`` bytes, returning its findings)
    and ``detect_pii(ordinary)`` in turn, ``repeat`` times each, keep the least time
    of each, print the line for ``name``, and return ``(ratio, MB/s, name)``. Timed
    side by side, the two see the same machine: on a shared one the speed drifts by
    a third within minutes, and a ratio against a figure taken earlier in the run
    moves with it."""
    best = best_ordinary = float("inf")
    count = 0
    for _ in range(repeat):
        t0 = time.process_time()
        detect_pii(ordinary, two_cores=False)
        best_ordinary = min(best_ordinary, time.process_time() - t0)
        t0 = time.process_time()
        count = len(run())
        best = min(best, time.process_time() - t0)
    mbps = _mbps(size, best)
    ratio = _mbps(len(ordinary.encode()), best_ordinary) / mbps
    print(f"  {name:24s} {best:7.2f}s {mbps:7.1f} MB/s  {ratio:5.1f}x  {count} findings")
    return ratio, mbps, name


def _scan_of(text: str):
    return lambda: detect_pii(text, two_cores=False)


def worst_case(log: str, crafted_mb: float) -> None:
    """Each crafted input, and the ratio of the ordinary log's speed to its speed, the
    ordinary log (its first ``crafted_mb`` MB, whole lines) timed alongside each input."""
    n = int(crafted_mb * 1_000_000)
    ordinary = log[:log.rfind("\n", 0, n) + 1] or log[:n]
    print(f"crafted inputs, {crafted_mb:g} MB each (ratio: the ordinary log's speed, timed in turn "
          "with each, over the input's):")
    results = []
    for name, make in CRAFTED.items():
        text = make(n)
        results.append(_against_ordinary(name, _scan_of(text), len(text.encode()), ordinary))
    line = _one_line(n)
    pieces = [line[i:i + 256] for i in range(0, len(line), 256)]
    results.append(_against_ordinary("iter_pii 256-char pieces", lambda: list(iter_pii(iter(pieces))),
                                     len(line.encode()), ordinary))
    ratio, slowest, name = max(results)
    print(f"slowest crafted input against the ordinary log: {name!r} at {slowest:.1f} MB/s, "
          f"ratio {ratio:.1f}x (target <= 8)")
    print(f"text made only of findings, {crafted_mb:g} MB each:")
    dense = []
    for name, make in DENSE.items():
        text = make(n)
        dense.append(_against_ordinary(name, _scan_of(text), len(text.encode()), ordinary))
    ratio, slowest, name = max(dense)
    print(f"slowest all-findings input: {name!r} at {slowest:.1f} MB/s, ratio {ratio:.1f}x")


def render_worst_case() -> None:
    from tftsr.docs.render import MAX_PREVIEW_CHARS, render_markdown
    from tftsr.errors import InvalidArgument

    n = MAX_PREVIEW_CHARS
    for name, unit in (("![", "!["), ("[", "["), ("[a](", "[a]("), ("*a", "*a"), ("prose", "Some words, a [link](#x). ")):
        text = _repeat(unit)(n)
        t0 = time.process_time()
        render_markdown(text)
        seconds = time.process_time() - t0
        print(f"render_markdown on {n:,} characters of {name!r}: {seconds:.2f}s ({n / 1e6 / seconds:.2f} MB/s)")
    t0 = time.process_time()
    try:
        render_markdown("![" * 1_000_000)
    except InvalidArgument as err:
        print(f"render_markdown on 2 MB of '![': refused in {time.process_time() - t0:.3f}s: {err.message}")


def run_scrubadub(text: str, slice_bytes: int) -> None:
    try:
        import scrubadub
    except ImportError:
        print("scrubadub: not installed (.venv/bin/pip install scrubadub) - skipped")
        return
    import scrubadub

    sample = text[:slice_bytes]
    scrubber = scrubadub.Scrubber()
    t0 = time.process_time()
    found = list(scrubber.iter_filth(sample))
    seconds = time.process_time() - t0
    print(f"scrubadub {scrubadub.__version__}: {len(found)} findings on a {len(sample) / 1e6:.1f} MB "
          f"slice in {seconds:.2f}s = {_mbps(len(sample), seconds):.2f} MB/s "
          f"(extrapolated to the full text: {seconds * len(text) / len(sample):.0f}s)")
    return _mbps(len(sample), seconds)


def stream_memory(size_mb: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.log"
        chunk = generate_log(8 * 1024 * 1024, seed=7)
        with open(path, "w") as fh:
            fh.writelines(chunk for _ in range(max(1, size_mb // 8)))
        size = os.path.getsize(path)
        tracemalloc.start()
        t0 = time.process_time()
        count = sum(1 for _ in iter_pii_file(path))
        seconds = time.process_time() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"iter_pii_file on {size / 1e6:.0f} MB: {count} findings in {seconds:.1f}s "
              f"({_mbps(size, seconds):.1f} MB/s under tracemalloc), peak Python memory "
              f"{peak / 1e6:.1f} MB")


def two_cores(text: str, size: int, expected: int) -> None:
    """``detect_pii`` as it runs on a large text where the machine has two cores:
    the least wall time of three runs, and the CPU time both processes spent on it
    (``os.times``: this one's, and that of the copy it waited for)."""
    from tftsr.pii import split

    if not split.available():
        print("detect_pii, two cores: not available here (Linux with two cores or more)")
        return
    best = float("inf")
    for _ in range(3):
        before, t0 = os.times(), time.perf_counter()
        count = len(detect_pii(text))
        wall, after = time.perf_counter() - t0, os.times()
        if wall < best:
            best = wall
            here = after.user + after.system - before.user - before.system
            copy = after.children_user + after.children_system - before.children_user - before.children_system
    same = "same findings" if count == expected else f"{count} findings, NOT the same"
    print(f"detect_pii, two cores: {best:6.2f}s  {_mbps(size, best):6.1f} MB/s  {same}  (wall time; CPU "
          f"{here:.2f}s here + {copy:.2f}s in the copy)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--mb", type=int, default=40, help="size of the generated log (MB)")
    parser.add_argument("--scrub-mb", type=float, default=1.0, help="slice given to scrubadub (MB)")
    parser.add_argument("--crafted-mb", type=float, default=4.0, help="size of each crafted input (MB; 0: skip)")
    parser.add_argument("--render", action="store_true", help="also time render_markdown on crafted Markdown")
    parser.add_argument("--stream-mb", type=int, default=200, help="file size for the memory run (0: skip)")
    args = parser.parse_args()

    text = generate_log(args.mb * 1_000_000)
    size = len(text.encode())
    print(f"generated log: {size / 1e6:.1f} MB, {text.count(chr(10))} lines")

    from tftsr.pii import prefilter

    t0 = time.process_time()
    detect_pii("warm-up: user@example.com from 10.0.0.1 " * 200)
    print(f"detector built by the first scan: {time.process_time() - t0:.2f}s (not counted below)")
    ours, n_ours = bench(lambda t: detect_pii(t, two_cores=False), text, repeat=3)
    print(f"detect_pii, one core:  {ours:6.2f}s  {_mbps(size, ours):6.1f} MB/s  {n_ours} findings"
          f"  (CPU time; prefilter {'on' if prefilter.available() else 'off: hyperscan is not installed'})")
    two_cores(text, size, n_ours)
    pure, n_pure = bench(lambda t: detect_pii(t, prefilter=False, two_cores=False), text)
    print(f"  pure-Python path:    {pure:6.2f}s  {_mbps(size, pure):6.1f} MB/s  {n_pure} findings")
    if args.crafted_mb:
        worst_case(text, args.crafted_mb)
    if args.render:
        render_worst_case()
    naive, n_naive = bench(naive_detect, text)
    print(f"naive regex-per-type:  {naive:6.2f}s  {_mbps(size, naive):6.1f} MB/s  {n_naive} findings")
    print(f"detect_pii speed-up over naive: {naive / ours:.2f}x")
    scrub = run_scrubadub(text, int(args.scrub_mb * 1_000_000))
    if scrub:
        print(f"detect_pii speed-up over scrubadub: {_mbps(size, ours) / scrub:.0f}x")
    if args.stream_mb:
        stream_memory(args.stream_mb)


if __name__ == "__main__":
    main()
