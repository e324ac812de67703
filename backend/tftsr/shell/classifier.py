"""Three-tier classification of shell commands, on a real bash parse tree.

``classify(cmd)`` parses ``cmd`` as bash does (bashlex, after :mod:`tftsr.shell.lexer`
has rewritten the few constructs bashlex lacks), walks every part of the tree —
pipelines, lists, subshells, groups, ``if``/``for``/``while``/``case`` bodies, function
bodies, ``$(...)``, backquotes, process substitutions, unquoted here-documents — and
looks each simple command up in the rule table of :mod:`tftsr.shell.rules`. The answer
is the highest tier found:

* 1 — read-only, runs without asking;
* 2 — changes state (or cannot be judged), needs the engineer's approval;
* 3 — destructive or hostile, always refused.

Nothing is ever executed. Input that cannot be parsed, nests too deeply or is too long
is tier 3. The walker counts its own depth, so no input can raise RecursionError.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from tftsr.shell import lexer
from tftsr.shell.lexer import Unparseable

MAX_CHARS = 16 * 1024
MAX_DEPTH = 60          # nested scripts, wrappers and tree levels, counted together
MAX_NODES = 20_000      # commands and words visited in one classification
MAX_BRACKETS = 100      # brackets open at once, counted crudely before parsing
MAX_TOKENS = 2_500      # shell tokens parsed in one classification (parse time grows with them)



def _bashlex():
    """The bash parser, imported on first use (it takes a noticeable share of start-up)."""
    import bashlex
    import bashlex.errors  # noqa: F401 - the submodule the walker catches errors from
    import bashlex.subst

    if not getattr(bashlex.subst, "_tftsr_guarded", False):
        _guard_parameter_scan(bashlex)
    return bashlex


def _guard_parameter_scan(bashlex) -> None:
    """bashlex (0.18) loops forever on a word that holds ``${`` with no ``}`` after it,
    even a quoted one such as ``x'${'``: its scanner takes ``find('}') == -1`` for the
    end of the expansion and starts again from the front. Such a word is refused as
    unparseable instead (tier 3), so every call still answers."""
    scan = bashlex.subst._paramexpand

    def guarded(parserobj, string, sindex):
        if string.startswith("${", sindex) and string.find("}", sindex + 2) < 0:
            raise bashlex.errors.ParsingError("bad substitution: no closing '}'", string, sindex)
        return scan(parserobj, string, sindex)

    bashlex.subst._paramexpand = guarded
    bashlex.subst._tftsr_guarded = True

@dataclass(frozen=True)
class Classification:
    tier: int
    reason: str
    risk_factors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"tier": self.tier, "reason": self.reason, "risk_factors": list(self.risk_factors)}


class _TooDeep(Exception):
    pass


@dataclass
class Flow:
    """What a part of the tree does with data, as far as pipes and feeds are concerned."""

    network: bool = False        # fetches data from the network
    decoder: bool = False        # decodes or de-obfuscates data
    literal: str | None = None   # echo/printf of fixed text: the text
    sink: str | None = None      # "shell"/"interpreter" reading a program from stdin
    name: str = ""

    def merge(self, other: Flow | None) -> Flow:
        if other is not None:
            self.network = self.network or other.network
            self.decoder = self.decoder or other.decoder
        return self


@dataclass
class Word:
    text: str             # the word as bash would see it after quote removal
    raw: str              # the source text
    dynamic: bool = False  # holds a parameter expansion or a substitution
    subst: bool = False    # holds a command or process substitution
    flow: Flow = field(default_factory=Flow)
    procsub: bool = False  # holds a process substitution


def code(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return f"`{text if len(text) <= limit else text[:limit - 1] + '…'}`"


_PASS_THROUGH = {"cat", "tee", "dd", "head", "tail"}  # print a here-document unchanged
_GLOB = re.compile(r"[*?\[]|\{[^{}]*(,|\.\.)[^{}]*\}|[{}]")
_SAFE_DEVICES = re.compile(
    r"^/dev/(null|zero|full|stdin|stdout|stderr|tty|console|kmsg|random|urandom|fd/\d+|pts/.*|"
    r"shm/.*|mqueue/.*)$")
_NETWORK_DEVICE = re.compile(r"^/dev/(tcp|udp)/")


def device_kind(path: str) -> str | None:
    """None for an ordinary path; "safe", "network", "sysrq" or "raw" for special ones."""
    clean = posixpath.normpath(re.sub(r"/+", "/", path)) if path.startswith("/") else path
    if clean.startswith("/dev/"):
        if _SAFE_DEVICES.match(clean):
            return "safe"
        if _NETWORK_DEVICE.match(clean):
            return "network"
        return "raw"
    if clean in ("/proc/sysrq-trigger", "/proc/kcore") or clean.startswith("/sys/firmware/efi"):
        return "sysrq"
    return None


def unquoted(raw: str) -> str:
    """``raw`` with quoted parts and backslash escapes removed (what bash may glob)."""
    out, i, n = [], 0, len(raw)
    while i < n:
        c = raw[i]
        if c == "\\":
            i += 2
        elif c == "'":
            end = raw.find("'", i + 1)
            i = n if end < 0 else end + 1
        elif c == '"':
            j = i + 1
            while j < n and raw[j] != '"':
                j += 2 if raw[j] == "\\" else 1
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def computed_name(word: Word) -> bool:
    if word.dynamic or "$" in word.raw or "`" in word.raw:
        return True
    return bool(_GLOB.search(unquoted(word.raw)))


class Walker:
    """One classification: walks trees, collects findings (tier, reason, risk factor)."""

    def __init__(self):
        self.findings: list[tuple[int, str, str | None]] = []
        self.readers: list[str] = []
        self.functions: set[str] = set()
        self.tainted_files: set[str] = set()   # written from the network or a decoder
        self.run_files: set[str] = set()       # run as scripts or programs
        self.visits = 0
        self.tokens = 0
        self._source: str | None = None          # the text the current tree was parsed from

    # -- findings -----------------------------------------------------------------------
    def flag(self, tier: int, reason: str, factor: str | None = None) -> None:
        self.findings.append((tier, reason, factor))

    def destroys_device(self, path: str | None, who: str, kind: str | None = None) -> bool:
        """Writing onto a raw device or a kernel trigger, by any means, is tier 3.
        ``kind``: what :func:`device_kind` says of ``path``, when already known."""
        if kind is None and path:
            kind = device_kind(path)
        if kind == "raw":
            self.flag(3, f"{who} writes onto the raw device {code(path)}, which destroys the "
                         "data on it.", "writes to a raw device")
        elif kind == "sysrq":
            self.flag(3, f"Writing to {code(path)} halts, reboots or crashes the machine at "
                         "once.", "kernel trigger")
        return kind in ("raw", "sysrq")

    def read(self, what: str) -> None:
        if what not in self.readers and what != ":":
            self.readers.append(what)

    def _tick(self, depth: int) -> None:
        self.visits += 1
        if depth > MAX_DEPTH or self.visits > MAX_NODES:
            raise _TooDeep

    # -- scripts ------------------------------------------------------------------------
    def run_text(self, text: str, depth: int) -> Flow:
        """Classify ``text`` as a bash script (a payload, a here-document, ``sh -c``)."""
        self._tick(depth)
        flow = Flow()
        if all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()):
            return flow  # nothing but comments (bashlex cannot parse a script without a command)
        bashlex = _bashlex()
        try:
            prepared = lexer.prepare(text)
            self.tokens += prepared.tokens
            if self.tokens > MAX_TOKENS:
                raise _TooDeep
            trees = bashlex.parse(prepared.text)
        except Unparseable as exc:
            if exc.too_deep:
                raise _TooDeep from None
            self._unparsed(text, exc.reason, depth)
            return flow
        except RecursionError:
            raise _TooDeep from None
        except (bashlex.errors.ParsingError, NotImplementedError, AssertionError, IndexError,
                KeyError, TypeError, ValueError, AttributeError) as exc:
            self._unparsed(text, _parser_message(exc), depth)
            return flow
        saved, self._source = self._source, prepared.text
        try:
            for extra in prepared.extra:
                flow.merge(self.run_text(extra, depth + 1))
            for body in prepared.arithmetic:
                self._arithmetic(body, depth + 1)
            for tree in trees:
                inner = self.node(tree, depth + 1)
                flow.merge(inner)
                if inner.sink and not flow.sink:  # `bash -c 'source /dev/stdin'` reads code
                    flow.sink, flow.name = inner.sink, inner.name
        finally:
            self._source = saved
        return flow

    def _arithmetic(self, body: str, depth: int) -> None:
        """``((rm -rf /))`` is arithmetic to bash (an error, nothing runs), but a command
        that reads as destructive is refused anyway."""
        inner = Walker()
        inner.visits, inner.tokens = self.visits, self.tokens
        inner.run_text(body, depth)
        self.visits, self.tokens = inner.visits, inner.tokens
        for tier, reason, factor in inner.findings:
            if tier == 3 and factor not in ("unparseable", "computed command name"):
                self.flag(3, reason, factor)

    def _unparsed(self, text: str, why: str, depth: int) -> None:
        from tftsr.shell import rules

        if rules.looks_like_powershell(text):
            rules.powershell_fallback(self, text, depth + 1)
            return
        self.flag(3, f"The command cannot be checked because it is not valid shell syntax as "
                     f"far as the checker can tell ({why}).", "unparseable")

    # -- tree ---------------------------------------------------------------------------
    def node(self, node, depth: int) -> Flow:
        self._tick(depth)
        kind = node.kind
        if kind == "command":
            return self.command_node(node, depth)
        if kind == "pipeline":
            return self.pipeline(node, depth)
        if kind == "function":
            return self.function(node, depth)
        flow = Flow()
        if kind == "list":
            children = node.parts
        elif kind == "compound":
            children = node.list
        elif kind in ("if", "for", "while", "until"):
            children = node.parts
        elif kind in ("reservedword", "operator", "pipe"):
            return flow
        elif kind == "word":
            return self.word(node, depth).flow
        else:
            children = getattr(node, "parts", []) or []
        for child in children:
            inner = self.node(child, depth + 1)
            flow.merge(inner)
            if inner.sink and not flow.sink:  # `curl … | (sh)`, `| { bash; }`
                flow.sink, flow.name = inner.sink, inner.name
        for redirect in getattr(node, "redirects", []) or []:
            self.redirect(redirect, flow, depth + 1)
        return flow

    def function(self, node, depth: int) -> Flow:
        name = getattr(node.name, "word", "")
        self.functions.add(name)
        body_names = self._command_names(node.body, depth + 1)
        if name and name in body_names and self._has_background(node.body, depth + 1):
            self.flag(3, f"The function {code(name)} calls itself in the background: a fork "
                         "bomb that exhausts the machine.", "fork bomb")
        return self.node(node.body, depth + 1)

    def _command_names(self, node, depth: int) -> set[str]:
        self._tick(depth)
        names = set()
        if node.kind == "command":
            for part in node.parts:
                if part.kind == "word":
                    names.add(part.word)
                    break
        for child in list(getattr(node, "parts", []) or []) + list(getattr(node, "list", []) or []):
            if hasattr(child, "kind"):
                names |= self._command_names(child, depth + 1)
        return names

    def _has_background(self, node, depth: int) -> bool:
        self._tick(depth)
        if node.kind == "operator" and node.op == "&":
            return True
        if node.kind == "pipe":
            return True
        children = list(getattr(node, "parts", []) or []) + list(getattr(node, "list", []) or [])
        return any(self._has_background(c, depth + 1) for c in children if hasattr(c, "kind"))

    def pipeline(self, node, depth: int) -> Flow:
        flows: list[Flow] = []
        for part in node.parts:
            if part.kind in ("pipe", "reservedword"):
                continue
            flows.append(self.node(part, depth + 1))
        for i, stage in enumerate(flows):
            if stage.sink and i > 0:
                self.fed(stage, flows[:i], "is piped into", depth)
        total = Flow()
        for stage in flows:
            total.merge(stage)
        if flows:
            total.sink = flows[0].sink
        return total

    def fed(self, sink: Flow, sources: list[Flow], how: str, depth: int) -> None:
        """A shell or interpreter reads its program from ``sources``."""
        who = code(sink.name or sink.sink)
        if any(s.network for s in sources):
            self.flag(3, f"Data downloaded from the network {how} {who}, which runs it as code.",
                      "network data run as code")
        elif any(s.decoder for s in sources):
            self.flag(3, f"Decoded or obfuscated data {how} {who}, which runs it as code; what "
                         "runs cannot be checked.", "decoded data run as code")
        elif sink.sink == "shell" and sources and all(s.literal is not None for s in sources):
            self.run_text("\n".join(s.literal for s in sources), depth + 1)

    # -- words --------------------------------------------------------------------------
    def word(self, node, depth: int) -> Word:
        """Walk the substitutions inside a word node; describe the word."""
        self._tick(depth)
        raw_parts = getattr(node, "parts", []) or []
        w = Word(node.word, self._raw(node))
        for part in raw_parts:
            self._tick(depth + 1)
            if part.kind == "commandsubstitution":
                w.dynamic = w.subst = True
                w.flow.merge(self.node(part.command, depth + 1))
            elif part.kind == "processsubstitution":
                w.dynamic = w.subst = w.procsub = True
                inner = self.node(part.command, depth + 1)
                w.flow.merge(inner)
                if inner.sink and self._source is not None and \
                        self._source[part.pos[0]:part.pos[0] + 1] == ">":
                    w.flow.sink, w.flow.name = inner.sink, inner.name  # `tee >(sh)`
            elif part.kind == "parameter":
                w.dynamic = True
                value = getattr(part, "value", "") or ""
                if "$(" in value or "`" in value or "<(" in value:
                    try:
                        for inner in lexer.substitutions(value, 0):
                            w.subst = True
                            w.flow.merge(self.run_text(inner, depth + 1))
                    except Unparseable as exc:
                        if exc.too_deep:
                            raise _TooDeep from None
                        self.flag(3, f"A parameter expansion cannot be checked ({exc.reason}).",
                                  "unparseable")
        if w.raw.startswith(("$'", '$"')):
            w.dynamic = True
        return w

    def _raw(self, node) -> str:
        if self._source is None:
            return node.word
        start, end = node.pos
        return self._source[start:end]

    # -- commands -----------------------------------------------------------------------
    def command_node(self, node, depth: int) -> Flow:
        words: list[Word] = []
        assignments: list[Word] = []
        redirects = []
        for part in node.parts:
            if part.kind == "word":
                words.append(self.word(part, depth + 1))
            elif part.kind == "assignment":
                assignments.append(self.word(part, depth + 1))
            elif part.kind == "redirect":
                redirects.append(part)
        for a in assignments:
            self.assignment(a.text, depth + 1)
        if words and self._source is not None and "\\" in self._source[node.pos[0]:node.pos[1]]:
            from tftsr.shell import rules

            if rules.is_windows_command(rules.normalize(words[0].text)):
                # bash would eat the backslashes of C:\path; a Windows shell keeps them
                tail = self._source[node.pos[0]:node.pos[1]]
                cut = min([r.pos[0] - node.pos[0] for r in redirects] or [len(tail)])
                windows = rules.ps_words(tail[:cut])
                if windows:
                    for ww, orig in zip(windows, words):
                        ww.flow, ww.subst = orig.flow, orig.subst
                    words = windows
        if words:
            flow = self.simple(words, depth + 1)
            for a in words[1:]:
                if a.procsub and a.flow.sink and not flow.sink:
                    # `tee >(sh)`: what the command reads goes on into a shell
                    flow.sink, flow.name = a.flow.sink, a.flow.name
        else:
            flow = Flow()
            if assignments:
                self.read("variable assignment")
        for a in assignments + words:
            flow.merge(a.flow)
        for redirect in redirects:
            self.redirect(redirect, flow, depth + 1)
        return flow

    def assignment(self, text: str, depth: int) -> None:
        from tftsr.shell import rules

        name, _, value = text.partition("=")
        name = name.rstrip("+").split("[", 1)[0]
        risky = rules.risky_variable(name)
        if risky:
            self.flag(2, f"Setting {code(name)} {risky}.", f"sets {name}")
            if name in ("PROMPT_COMMAND", "BASH_ENV", "ENV") and value:
                self.run_text(value, depth + 1)

    def simple(self, words: list[Word], depth: int) -> Flow:
        """Classify one simple command given its words (name first)."""
        from tftsr.shell import rules

        self._tick(depth)
        while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*\+?=", words[0].text) \
                and not words[0].raw.startswith(("'", '"')):
            self.assignment(words[0].text, depth)
            words = words[1:]
        if not words:
            return Flow()
        first = words[0]
        if computed_name(first):
            self.flag(3, f"The command name {code(first.raw)} is computed when it runs "
                         "(variable, substitution, quoting trick or pattern), so what runs "
                         "cannot be checked.", "computed command name")
            return Flow()
        name = rules.normalize(first.text)
        if first.text in self.functions:
            return Flow(name=name)
        if "/" in first.text:
            self.run_files.add(first.text)
        return rules.dispatch(self, name, first.text, words[1:], depth + 1)

    def redirect(self, node, flow: Flow | None, depth: int) -> None:
        kind = node.type
        target = node.output if hasattr(node.output, "kind") else None
        heredoc = getattr(node, "heredoc", None)
        tw = self.word(target, depth) if target is not None and kind not in ("<<", "<<-") else None
        if kind in ("<<", "<<-") and heredoc is not None:
            quoted = target is not None and target.word.startswith(lexer.QUOTED_MARK)
            self.heredoc(heredoc, quoted, flow, depth)
            return
        if tw is None:
            return
        if flow is not None:
            flow.merge(tw.flow)
        path = tw.text
        dev = device_kind(path) if not tw.dynamic else (
            "raw" if re.search(r"/dev/(sd|hd|vd|xvd|nvme|mmcblk|dm-|md|disk/|mapper/)", tw.raw)
            else None)
        if kind == "<<<":
            if flow is not None and flow.name in _PASS_THROUGH:
                flow.literal = None if tw.dynamic else tw.text
            if flow is not None and flow.sink:
                self.fed(flow, [tw.flow], "is fed by a here-string into", depth)
                if flow.sink == "shell":
                    self.run_text(tw.text, depth + 1)
            return
        if kind in ("<", "<&"):
            if flow is not None and flow.sink:
                net = Flow(network=dev == "network")
                self.fed(flow, [tw.flow, net], "is fed into", depth)
            if dev == "network":
                if flow is not None:
                    flow.network = True
                self.flag(2, f"It opens a raw network connection ({code(path)}).",
                          "network connection")
            return
        # an output (or read-write) redirection
        if kind == ">&" and (path.isdigit() or path == "-"):
            return
        if tw.procsub and tw.flow.sink and flow is not None:  # `curl … > >(sh)`
            self.fed(Flow(name=tw.flow.name, sink=tw.flow.sink), [flow], "is written into", depth)
        if dev == "safe" or self.destroys_device(path, "It", dev or "ordinary"):
            return
        if dev == "network":
            self.flag(2, f"It opens a raw network connection ({code(path)}).",
                      "network connection")
            if flow is not None:
                if flow.sink:
                    self.fed(flow, [Flow(network=True)], "is connected to", depth)
                flow.network = True
        else:
            self.flag(2, f"It writes to the file {code(path)} (redirection "
                         f"{code(kind)}).", "writes a file")
            if flow is not None and (flow.network or flow.decoder):
                self.tainted_files.add(path)

    def heredoc(self, heredoc, quoted: bool, flow: Flow | None, depth: int) -> None:
        body = heredoc.value.rsplit("\n", 1)[0] if "\n" in heredoc.value else ""
        if not quoted:
            try:
                for inner in lexer.substitutions(body, 0, single_quotes=False):
                    inner_flow = self.run_text(inner, depth + 1)
                    if flow is not None and flow.sink:
                        self.fed(flow, [inner_flow], "is fed by a here-document into", depth)
            except Unparseable as exc:
                if exc.too_deep:
                    raise _TooDeep from None
                self.flag(3, f"A here-document cannot be checked ({exc.reason}).", "unparseable")
        if flow is not None and flow.sink == "shell":
            self.run_text(body, depth + 1)
        if flow is not None and flow.name in _PASS_THROUGH:
            flow.literal = body  # `cat <<EOF | sh` hands the body on as a script

    # -- result -------------------------------------------------------------------------
    def result(self) -> Classification:
        for path in self.tainted_files & self.run_files:
            self.flag(3, f"It saves downloaded or decoded data to {code(path)} and runs it, "
                         "so what runs cannot be checked.", "runs downloaded code")
        factors: list[str] = []
        for _, _, factor in self.findings:
            if factor and factor not in factors:
                factors.append(factor)
        if not self.findings and not self.readers:
            return Classification(1, "Nothing here changes anything.", [])
        if not self.findings:
            shown = ", ".join(code(r) for r in self.readers[:6])
            return Classification(1, f"Only reads information ({shown}); nothing is changed.", [])
        tier = max(f[0] for f in self.findings)
        reasons = []
        for t, reason, _ in self.findings:
            if t == tier and reason not in reasons:
                reasons.append(reason)
        reason = reasons[0] if len(reasons) == 1 else reasons[0] + f" (and {len(reasons) - 1} " \
            f"more reason{'s' if len(reasons) > 2 else ''} at this level)"
        return Classification(tier, reason, factors[:12])


def _parser_message(exc: Exception) -> str:
    text = str(exc).split("\n", 1)[0].strip()
    if isinstance(exc, NotImplementedError):
        return "it uses a construct the parser does not support"
    return text[:120] or type(exc).__name__


def classify(cmd: str) -> Classification:
    """Classify one shell command line (or script). Never executes it; never raises for
    any string input."""
    if not isinstance(cmd, str):
        return Classification(3, "The command is not text.", ["not text"])
    if len(cmd) > MAX_CHARS:
        return Classification(3, f"The command is too long to check ({len(cmd):,} characters; "
                                 f"the limit is {MAX_CHARS:,}).", ["too long"])
    if "\x00" in cmd:
        return Classification(3, "The command contains a NUL character, which the shell "
                                 "cannot take; it cannot be checked.", ["unparseable"])
    if not cmd.strip():
        return Classification(1, "There is nothing to run.", [])
    walker = Walker()
    try:
        if lexer.nesting_depth(cmd, MAX_BRACKETS) > MAX_BRACKETS:
            raise _TooDeep
        walker.run_text(cmd, 0)
    except (_TooDeep, RecursionError):
        return Classification(3, "The command nests too deeply (or has too many parts) to be "
                                 "checked safely.", ["too deeply nested"])
    return walker.result()

