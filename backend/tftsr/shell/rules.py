"""The command rules: which commands only read, which change state, which destroy.

Plain tables first (read-only commands, tools with sub-commands and their read-only
verbs, flags that turn a reader into a writer), then one small function per command
whose arguments matter (``rm``, ``find``, ``curl``, ``kubectl``, wrappers such as
``sudo`` and ``xargs`` that run a payload, shells and interpreters). Every rule reports
through the walker (``w.flag(tier, reason, factor)``) and returns a :class:`Flow` that
says whether the command fetches from the network, decodes data, prints fixed text or
reads a program from its input — what the pipeline checks need.

Decisions not spelled out by the policy, kept conservative:
* ``rm -r`` without ``-f`` is tier 3 on ``/``, ``/*``, ``~`` or a top-level system folder
  (no terminal answers its prompts here), tier 2 elsewhere.
* PowerShell ``Remove-Item -Recurse`` (any alias, any abbreviation) is tier 3 on any path,
  like ``rm -rf``: it asks nothing when run non-interactively. ``del /s``, ``rd /s`` too.
* ``shutdown`` in any form except cancelling (``-c``, ``/a``) is tier 3, even ``-r``.
* Suspending or hibernating the machine is tier 3 (it stops answering, like poweroff).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tftsr.shell.classifier import Flow, Walker, Word, code, device_kind

# -- tables -------------------------------------------------------------------------------
READ_ONLY = set("""
ls dir vdir cat tac head tail less more most grep egrep fgrep zgrep zegrep zfgrep rg ag ack
wc cut tr column nl rev fold fmt paste join comm diff diff3 sdiff cmp md5sum sha1sum sha224sum
sha256sum sha384sum sha512sum b2sum cksum sum file stat du df free uptime w who whoami id
groups users uname arch nproc lscpu lsmem lspci lsusb lsblk lsmod lsns lsipc lslocks
lslogins blkid findmnt modinfo vmstat iostat mpstat pidstat sar numastat slabtop pstree ps
pgrep pidof top htop atop iotop lsof ss netstat ping ping6 traceroute traceroute6 tracepath
mtr dig nslookup host whois getent printenv true false test [ sleep which type whereis pwd
basename dirname realpath readlink seq expr bc dc factor numfmt cal ncal locale tree locate
mlocate plocate strings od hexdump xxd base64 base32 basenc jq zcat bzcat xzcat zstdcat zless
zmore zdiff lzcat getconf ulimit umask hash cd pushd popd dirs jobs wait : read shift getopts
let set shopt unset declare typeset local readonly export history help man info apropos
whatis last lastb lastlog faillog getenforce sestatus aa-status apparmor_status ipcs
dmidecode lshw hwinfo inxi sensors tput clear yes env-update? iftop nethogs bmon vnstat
ip6tables-save iptables-save nft-list? ldd nm objdump readelf size sha1 md5 shasum
ss-tool? uniq? timeout? cksum? arp? route? ifconfig? ethtool? uptime? tload? watch? echo?
printf? kubectx? kubens? stern k9s? nvidia-smi? jobs? type? compgen complete alias? disown
return exit break continue source? fc? times caller enable? bind? logout? suspend?
column? sort? sed? awk? find? date? hostname? dmesg? journalctl? tcpdump? free? iotop? host?
systemd-cgls systemd-cgtop systemd-detect-virt systemd-delta busctl? coredumpctl? ausearch
aureport lastcomm ac sa? quota repquota? df? du? findfs? lsattr getfacl getcap getpcaps
namei pathchk mountpoint dumpe2fs? tune2fs? xfs_info e2freefs? iostat? pmap pwdx prtstat
free? top? uptime? chage? whoami? hostid logname nice? renice? ionice? tty
""".replace("?", "").split()) - {
    "uniq", "timeout", "arp", "route", "ifconfig", "ethtool", "watch", "echo", "printf",
    "nvidia-smi", "alias", "source", "enable", "bind", "suspend", "sort", "sed", "awk",
    "find", "date", "hostname", "dmesg", "journalctl", "tcpdump", "busctl", "coredumpctl",
    "sa", "repquota", "dumpe2fs", "tune2fs", "nice", "renice", "ionice", "chage", "column",
    "env-update", "nft-list", "ss-tool", "kubectx", "kubens", "stern", "k9s", "logout",
    "findfs", "e2freefs",
}
READ_ONLY |= {"stern", "k9s", "dumpe2fs", "findfs", "tload", "column"}

# Readers that some flags turn into writers: name -> (short letters, long options, what).
MUTATING_FLAGS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "sort": ("o", ("--output", "--compress-program"), "writes its output to a file"),
    "dmesg": ("cCnDE", ("--clear", "--read-clear", "--console-level", "--console-off",
                        "--console-on"), "clears or reconfigures the kernel log"),
    "journalctl": ("", ("--vacuum-size", "--vacuum-time", "--vacuum-files", "--rotate",
                        "--flush", "--sync", "--relinquish-var", "--smart-relinquish-var",
                        "--setup-keys", "--update-catalog"),
                   "deletes, rotates or rewrites journal files"),
    "tcpdump": ("wWC", ("--write",), "writes captured packets to a file"),
    "arp": ("dsf", ("--delete", "--set", "--file"), "changes the ARP table"),
    "uniq": ("", (), ""),
    "tune2fs": ("cCeEgiIjJlLmMoOrQTuU", (), "changes file-system settings"),
    "renice": ("", (), ""),
    "chage": ("dEImMW", ("--lastday", "--expiredate", "--inactive", "--mindays", "--maxdays",
                         "--warndays"), "changes password ageing"),
    "busctl": ("", ("call", "set-property", "emit"), "calls or changes system services"),
    "coredumpctl": ("o", ("--output", "dump", "debug", "gdb"), "writes or debugs a core dump"),
    "nvidia-smi": ("pPrecm", ("--persistence-mode", "--power-limit", "--gpu-reset",
                              "--ecc-config", "--compute-mode", "--applications-clocks",
                              "--reset-applications-clocks", "--lock-gpu-clocks",
                              "--reset-gpu-clocks", "--multi-instance-gpu", "-pm", "-pl",
                              "-ac", "-rac", "-lgc", "-rgc", "-mig", "-r"),
                   "changes GPU settings"),
    "ethtool": ("sKACGLEfrpW", ("--change", "--offload", "--pause", "--coalesce", "--set-ring",
                                "--set-channels", "--change-eeprom", "--flash", "--negotiate",
                                "--identify", "--reset"), "changes network card settings"),
    "ss": ("K", ("--kill",), "kills the network connections it matches"),
    "smartctl": ("tXsoS", ("--test", "--abort", "--smart", "--offlineauto", "--saveauto",
                           "--set"), "starts a disk test or changes disk settings"),
}

SHELLS = {"sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish", "tcsh", "csh", "rbash",
          "yash", "posh"}
INTERPRETERS = {"python", "pypy", "perl", "ruby", "irb", "node", "nodejs", "deno", "bun", "php",
                "lua", "luajit", "tclsh", "wish", "expect", "rscript", "r", "julia", "osascript",
                "jshell", "groovy", "jrunscript", "gjs", "qjs"}
INLINE_CODE = {"python": ("c",), "pypy": ("c",), "perl": ("e", "E"), "ruby": ("e",),
               "node": ("e", "p", "--eval", "--print"), "nodejs": ("e", "p", "--eval", "--print"),
               "bun": ("e", "--eval"), "php": ("r", "B", "R", "E"), "lua": ("e",),
               "luajit": ("e",), "rscript": ("e",), "r": ("e",), "julia": ("e", "E"),
               "osascript": ("e",), "deno": ()}
NETWORK_SOURCES = {"curl", "wget", "nc", "ncat", "netcat", "socat", "telnet", "ssh", "fetch",
                   "aria2c", "lynx", "w3m", "links", "elinks", "http", "https", "xh", "xhs",
                   "lwp-request", "get", "dig", "host", "nslookup", "tftp", "ftp", "smbclient",
                   "invoke-webrequest", "iwr", "invoke-restmethod", "irm", "wsl"}
DECODERS = {"base64": ("d", "D", "--decode"), "base32": ("d", "--decode"),
            "basenc": ("d", "--decode"), "xxd": ("r", "--revert"),
            "uudecode": None, "gunzip": None, "zcat": None, "bunzip2": None, "bzcat": None,
            "unxz": None, "xzcat": None, "unzstd": None, "zstdcat": None, "lzcat": None,
            "gzip": ("d", "--decompress", "--uncompress"), "bzip2": ("d", "--decompress"),
            "xz": ("d", "--decompress"), "zstd": ("d", "--decompress"), "rev": None,
            "tr": None, "openssl": ("d", "base64", "enc"), "certutil": ("decode", "-decode")}
RISKY_VARIABLES = {
    "PATH": "changes which programs run under every command name",
    "BASH_ENV": "makes every bash started afterwards run a file first",
    "ENV": "makes every shell started afterwards run a file first",
    "PROMPT_COMMAND": "runs a command before every prompt",
    "IFS": "changes how the shell splits words",
    "SHELLOPTS": "changes shell options of child shells",
    "BASHOPTS": "changes shell options of child shells",
    "PS4": "can run commands while tracing",
    "PYTHONPATH": "changes which Python code is loaded",
    "PYTHONSTARTUP": "runs Python code at start-up",
    "PYTHONHOME": "changes which Python is loaded",
    "PERL5LIB": "changes which Perl code is loaded",
    "PERL5OPT": "adds options to every Perl run",
    "RUBYOPT": "adds options to every Ruby run",
    "NODE_OPTIONS": "adds options to every Node.js run",
    "GIT_SSH_COMMAND": "runs a command for every git connection",
    "GIT_EXTERNAL_DIFF": "runs a command for every git diff",
    "GIT_PAGER": "runs a command for git output",
    "GIT_EDITOR": "runs a command as git's editor",
    "GIT_ASKPASS": "runs a command for git passwords",
    "SSH_ASKPASS": "runs a command for ssh passwords",
    "PAGER": "runs a command for paged output",
    "EDITOR": "runs a command as the editor",
    "VISUAL": "runs a command as the editor",
    "GCONV_PATH": "changes which libraries are loaded",
    "KUBECONFIG": "changes which cluster kubectl talks to",
}
CRITICAL_PATHS = {"/", "/*", "/.", "/..", "~", "~/", "~/*", "$HOME", "${HOME}", "*", ".", "..",
                  "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib64", "/opt", "/proc",
                  "/root", "/sbin", "/srv", "/sys", "/usr", "/var"}


def risky_variable(name: str) -> str | None:
    if name.startswith("LD_") or name.startswith("DYLD_"):
        return "changes which libraries every program loads"
    return RISKY_VARIABLES.get(name)


def normalize(name: str) -> str:
    base = re.split(r"[\\/]", name)[-1].lower()
    for suffix in (".exe", ".com", ".cmd", ".bat"):
        if base.endswith(suffix) and len(base) > len(suffix):
            base = base[: -len(suffix)]
    for pattern, canonical in _NAME_PATTERNS:
        if pattern.match(base):
            return canonical
    return base


_NAME_PATTERNS = [
    (re.compile(r"^python[0-9.]*[mdu]?$"), "python"), (re.compile(r"^pypy[0-9.]*$"), "pypy"),
    (re.compile(r"^perl[0-9.]*$"), "perl"), (re.compile(r"^ruby[0-9.]*$"), "ruby"),
    (re.compile(r"^php[0-9.]*(-cli)?$"), "php"), (re.compile(r"^lua[0-9.]*$"), "lua"),
    (re.compile(r"^pip[0-9.]*$"), "pip"), (re.compile(r"^(mkfs|mke2fs|mkfs\..+|mkdosfs|mkntfs|"
                                                      r"mkexfatfs|mkswap|mkfs_.+)$"), "mkfs"),
    (re.compile(r"^(gawk|mawk|nawk|awk)$"), "awk"), (re.compile(r"^(g?sed)$"), "sed"),
    (re.compile(r"^(powershell|pwsh)(_ise)?$"), "pwsh"),
    (re.compile(r"^(ip6?tables|ip6?tables-legacy|ip6?tables-nft|ebtables|arptables)$"),
     "iptables"),
]


# -- option parsing -------------------------------------------------------------------------
@dataclass
class Opts:
    flags: list[str] = field(default_factory=list)          # "-x" per short letter, "--long"
    values: dict[str, list[str]] = field(default_factory=dict)
    positional: list[Word] = field(default_factory=list)
    dynamic_flags: list[Word] = field(default_factory=list)  # option-like words computed later

    def has(self, *names: str) -> bool:
        return any(n in self.flags for n in names)

    def value(self, *names: str) -> str | None:
        for n in names:
            if self.values.get(n):
                return self.values[n][-1]
        return None


def parse(args: list[Word], short_values: str = "", long_values: tuple = (), *,
          stop: bool = False, single_dash_long: bool = False) -> Opts:
    """GNU-style options. ``short_values``: letters that take a value; ``long_values``: long
    options that take one. ``stop``: the first positional ends the options (it and the rest
    are positional, e.g. a wrapper's payload)."""
    o = Opts()
    i = 0
    while i < len(args):
        w = args[i]
        t = w.text
        if t == "--":
            o.positional.extend(args[i + 1:])
            break
        if t.startswith("--") and len(t) > 2:
            name, eq, val = t.partition("=")
            o.flags.append(name)
            if eq:
                o.values.setdefault(name, []).append(val)
            elif name in long_values and i + 1 < len(args):
                i += 1
                o.values.setdefault(name, []).append(args[i].text)
        elif t.startswith("-") and len(t) > 1 and (single_dash_long and t in long_values):
            o.flags.append(t)
            if i + 1 < len(args):
                i += 1
                o.values.setdefault(t, []).append(args[i].text)
        elif t.startswith("-") and len(t) > 1:
            if w.dynamic:
                o.dynamic_flags.append(w)
            for j, ch in enumerate(t[1:], start=1):
                o.flags.append("-" + ch)
                if ch in short_values:
                    val = t[j + 1:]
                    if not val and i + 1 < len(args):
                        i += 1
                        val = args[i].text
                    o.values.setdefault("-" + ch, []).append(val)
                    break
        else:
            if w.dynamic and not w.text.startswith("/"):
                o.dynamic_flags.append(w)
            if stop:
                o.positional.extend(args[i:])
                break
            o.positional.append(w)
        i += 1
    return o


def verb_index(args: list[Word], value_opts: set[str]) -> int:
    """Index of the first non-option word (a tool's verb), skipping global options."""
    i = 0
    while i < len(args):
        t = args[i].text
        if t == "--":
            return i + 1
        if t.startswith("-") and len(t) > 1:
            if "=" not in t and t in value_opts:
                i += 1
            i += 1
            continue
        return i
    return len(args)


def verbs(args: list[Word], value_opts: set[str], count: int = 2) -> list[str]:
    found, rest = [], args
    while len(found) < count:
        i = verb_index(rest, value_opts)
        if i >= len(rest):
            break
        found.append(rest[i].text.lower())
        rest = rest[i + 1:]
    return found


def words_text(words: list[Word]) -> str:
    return " ".join(w.text for w in words)


# -- dispatch -------------------------------------------------------------------------------
def dispatch(w: Walker, name: str, original: str, args: list[Word], depth: int) -> Flow:
    rule = RULES.get(name)
    if rule is not None:
        flow = rule(w, name, args, depth) or Flow()
        flow.name = flow.name or name
        return flow
    if name in MUTATING_FLAGS:
        return mutating_flags(w, name, args)
    if name in READ_ONLY:
        w.read(name)
        return _source_flow(name, args)
    if _CMDLET.match(name):
        return cmdlet(w, name, args, depth)
    w.flag(2, f"{code(original)} is not a command the checker knows, so it needs approval.",
           "unknown command")
    return Flow(name=name)


def _source_flow(name: str, args: list[Word]) -> Flow:
    flow = Flow(name=name, network=name in NETWORK_SOURCES)
    spec = DECODERS.get(name, ())
    if spec is None:
        flow.decoder = True
    elif spec:
        o = parse(args)
        texts = {a.text for a in args}
        flow.decoder = any(("-" + s if len(s) == 1 else s) in o.flags or s in texts for s in spec)
    return flow


def mutating_flags(w: Walker, name: str, args: list[Word]) -> Flow:
    shorts, longs, what = MUTATING_FLAGS[name]
    o = parse(args)
    texts = [a.text for a in args]
    hit = [f for f in o.flags if (len(f) == 2 and f[1] in shorts) or f in longs
           or any(_long_prefix(f, full) for full in longs if full.startswith("--"))]
    hit += [t for t in texts if t in longs and not t.startswith("-")]
    if name == "uniq" and len(o.positional) >= 2:
        hit, what = ["output file"], f"writes its result to {code(o.positional[1].text)}"
    if name == "renice":
        hit, what = ["renice"], "changes the priority of running processes"
    if hit:
        w.flag(2, f"{code(name + ' ' + hit[0])} {what}.", f"{name} {hit[0]}")
    else:
        w.read(name)
    return _source_flow(name, args)


def reader(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    w.read(name)
    return _source_flow(name, args)


def changes(what: str, tier: int = 2):
    """A rule for commands that always change state (or always destroy)."""
    def rule(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
        w.flag(tier, f"{code(name)} {what}.", name)
        return _source_flow(name, args)
    return rule


# -- deleting -------------------------------------------------------------------------------
def _long_prefix(option: str, full: str) -> bool:
    """GNU tools accept any unambiguous prefix of a long option (--rec, --forc)."""
    return option.startswith("--") and len(option) > 2 and full.startswith(option)


def rm(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    recursive = force = False
    targets: list[str] = []
    options_done = False
    candidates = []
    for a in args:
        if a.dynamic:  # a computed word may expand to options: look at its literal text
            candidates.extend(a.raw.replace("(", " ").replace(")", " ").replace('"', " ").split())
        candidates.append(a.text)
    for t in candidates:
        if options_done or not t.startswith("-") or t == "-":
            targets.append(t)
            continue
        if t == "--":
            options_done = True
        elif t.startswith("--"):
            opt = t.split("=", 1)[0]
            recursive |= _long_prefix(opt, "--recursive")
            force |= _long_prefix(opt, "--force")
            # --interactive=never (no, none) asks nothing, like -f
            force |= _long_prefix(opt, "--interactive") and \
                t.partition("=")[2].lower() in ("never", "no", "none")
            if _long_prefix(opt, "--no-preserve-root") and len(opt) > 4:
                w.flag(3, f"{code('rm --no-preserve-root')} removes even the root folder.",
                       "rm --no-preserve-root")
        elif t.lower().startswith("-rec"):  # PowerShell's rm alias: Remove-Item -Recurse
            recursive = force = True
        elif t[1:].isalpha() and len(t) <= 12:
            letters = t[1:].lower()
            recursive |= "r" in letters
            force |= "f" in letters
    if recursive and force:
        w.flag(3, f"{code('rm -rf')} deletes files and folders recursively without asking.",
               "recursive force delete")
    elif recursive and any(t.rstrip("/") in CRITICAL_PATHS or t in CRITICAL_PATHS
                           for t in targets):
        w.flag(3, f"{code('rm -r')} on a system folder deletes it recursively; nothing here "
                  "answers its questions, so it does not ask.", "recursive delete of system folder")
    elif recursive:
        w.flag(2, f"{code('rm -r')} deletes a folder and everything in it.", "recursive delete")
    else:
        w.flag(2, f"{code(name)} deletes files.", "deletes files")
    return Flow(name=name)


def find(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    flow = Flow(name=name)
    texts = [a.text for a in args]
    i = 0
    read_only = True
    while i < len(args):
        t = texts[i]
        if t == "-delete":
            w.flag(3, f"{code('find -delete')} deletes every file it matches without asking.",
                   "find -delete")
            read_only = False
        elif t in ("-exec", "-execdir", "-ok", "-okdir"):
            end = i + 1
            while end < len(args) and texts[end] not in (";", "+"):
                end += 1
            payload = args[i + 1:end]
            if payload:
                flow.merge(w.simple(payload, depth + 1))
            else:
                w.flag(3, f"{code('find ' + t)} has no command to run.", "unparseable")
            read_only = False
            i = end
        elif t in ("-fprint", "-fprint0", "-fprintf", "-fls"):
            w.flag(2, f"{code('find ' + t)} writes its results to a file.", "writes a file")
            read_only = False
        i += 1
    if read_only:
        w.read("find")
    return flow


def dd(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    w.flag(3, f"{code('dd')} copies raw bytes between files and devices; one wrong "
              "argument overwrites a disk, so it is never run.", "dd")
    return Flow(name=name)


def _device_args(args: list[Word]) -> list[str]:
    return [a.text for a in args if device_kind(a.text) in ("raw",) or
            (a.dynamic and "/dev/" in a.raw)]


def disk_tool(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    """Partitioning tools: listing is read-only, anything else rewrites a disk."""
    texts = [a.text.lower() for a in args]
    if any(t in ("-l", "--list", "print", "-p", "--print", "--version", "-v", "--help", "-h")
           for t in texts) and not any(t in ("mklabel", "mkpart", "rm", "resizepart", "mkfs",
                                             "-z", "--zap-all", "-o", "--clear", "-n", "-d",
                                             "--delete", "--new") for t in texts):
        w.read(name)
        return Flow(name=name)
    w.flag(3, f"{code(name)} rewrites a disk's partition table, destroying what is on it.",
           "partitions a disk")
    return Flow(name=name)


def device_writer(what: str):
    """Tools that destroy the data on the devices they are given (3), or just change a file
    (2) when no device is named."""
    def rule(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
        devices = _device_args(args)
        if devices or name in ("mkfs", "wipefs", "blkdiscard"):
            shown = devices[0] if devices else "its target"
            w.flag(3, f"{code(name)} {what} ({code(shown)}).", f"{name} on a device")
        else:
            w.flag(2, f"{code(name)} {what}.", name)
        return Flow(name=name)
    return rule


def copy_like(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    o = parse(args, "tSbBg" if name in ("cp", "mv", "install", "ln") else "", ("--target-directory",))
    dest = o.value("-t", "--target-directory")
    if dest is None and o.positional:
        dest = o.positional[-1].text
    if not w.destroys_device(dest, code(name)):
        verb = {"cp": "copies files", "mv": "moves or renames files", "ln": "creates links",
                "install": "installs files", "rsync": "copies files", "scp": "copies files "
                "over the network", "sftp": "transfers files over the network"}.get(name, "writes files")
        w.flag(2, f"{code(name)} {verb}.", "writes files")
    return Flow(name=name, network=name in ("scp", "sftp", "rsync"))


def tee(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    o = parse(args)
    files = [p.text for p in o.positional]
    raw = [f for f in files if device_kind(f) == "raw"]
    if raw:
        w.flag(3, f"{code('tee')} writes onto the raw device {code(raw[0])}, destroying its data.",
               "writes to a raw device")
    elif any(device_kind(f) == "sysrq" for f in files):
        w.flag(3, "Writing to a kernel trigger file halts, reboots or crashes the machine.",
               "kernel trigger")
    elif any(device_kind(f) != "safe" for f in files):
        w.flag(2, f"{code('tee')} writes its input to {code(files[0])}.", "writes a file")
    else:
        w.read("tee")
    return Flow(name=name)


def chmod_like(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    o = parse(args, "", ("--reference", "--from"))
    recursive = o.has("-R", "--recursive") or any(_long_prefix(f, "--recursive") for f in o.flags)
    on_root = any(re.sub(r"/+", "/", p.text) in ("/", "/*", "/.", "/..", "/./")
                  for p in o.positional)
    if recursive and on_root:
        w.flag(3, f"{code(name + ' -R')} on {code('/')} changes every file on the machine "
                  "and breaks it.", f"{name} -R /")
    else:
        what = {"chmod": "changes file permissions", "chown": "changes file owners",
                "chgrp": "changes file groups", "chattr": "changes file attributes",
                "setfacl": "changes file access lists", "chcon": "changes security labels"}
        w.flag(2, f"{code(name)} {what.get(name, 'changes files')}.", name)
    return Flow(name=name)


# -- power ----------------------------------------------------------------------------------
def shutdown(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    texts = [a.text.lower() for a in args]
    if name == "shutdown" and any(t in ("-c", "/a", "--show") for t in texts):
        w.flag(2, "It cancels or shows a scheduled shutdown.", "shutdown")
    elif name == "reboot" and not any(t in ("-p", "--poweroff", "--halt") for t in texts):
        w.flag(2, f"{code('reboot')} restarts the machine.", "reboot")
    else:
        w.flag(3, f"{code(name)} shuts the machine down; nobody can bring it back from here.",
               "shutdown")
    return Flow(name=name)


def init(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    level = args[0].text.lower() if args else ""
    if level in ("0", "1", "s", "single", "emergency"):
        w.flag(3, f"{code(name + ' ' + level)} halts the machine or drops it to single-user "
                  "mode, cutting everyone off.", "shutdown")
    elif level == "6":
        w.flag(2, f"{code(name + ' 6')} reboots the machine.", "reboot")
    elif not args or level in ("--help", "--version"):
        w.read(name)
    else:
        w.flag(2, f"{code(name)} changes the system run level.", "run level")
    return Flow(name=name)


# -- system tools ---------------------------------------------------------------------------
SYSTEMCTL_OPTS = {"-H", "--host", "-M", "--machine", "-t", "--type", "-p", "--property", "-s",
                  "--signal", "-n", "--lines", "-o", "--output", "--state", "--root",
                  "--job-mode", "--what", "--when", "--message", "--timestamp", "--kill-whom",
                  "--kill-value", "--boot-loader-entry", "--reboot-argument", "--drop-in"}
SYSTEMCTL_READ = {"status", "show", "list-units", "list-unit-files", "list-sockets",
                  "list-timers", "list-jobs", "list-dependencies", "list-machines",
                  "list-paths", "list-automounts", "is-active", "is-enabled", "is-failed",
                  "is-system-running", "cat", "get-default", "help", "show-environment",
                  "whoami", "--version", "-h", "--help"}
SYSTEMCTL_OFF = {"poweroff", "halt", "emergency", "rescue", "suspend", "hibernate",
                 "hybrid-sleep", "suspend-then-hibernate", "sleep"}
OFF_TARGETS = re.compile(r"^(poweroff|halt|shutdown|rescue|emergency|runlevel[01]|sleep|"
                         r"suspend|hibernate|hybrid-sleep)\.target$")


def systemctl(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    i = verb_index(args, SYSTEMCTL_OPTS)
    verb = args[i].text.lower() if i < len(args) else ""
    units = [a.text.lower() for a in args[i + 1:] if not a.text.startswith("-")]
    if not verb or verb in SYSTEMCTL_READ:
        w.read(f"systemctl {verb}".strip())
    elif verb in SYSTEMCTL_OFF or (verb in ("isolate", "start", "restart") and
                                   any(OFF_TARGETS.match(u) for u in units)):
        w.flag(3, f"{code('systemctl ' + verb)} powers off, halts, suspends or isolates the "
                  "machine; nobody can bring it back from here.", "shutdown")
    elif verb in ("reboot", "kexec", "soft-reboot") or any(u == "reboot.target" for u in units):
        w.flag(2, f"{code('systemctl ' + verb)} reboots the machine.", "reboot")
    else:
        w.flag(2, f"{code('systemctl ' + verb)} changes the state of system services.",
               "changes services")
    return Flow(name=name)


def service(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    texts = [a.text.lower() for a in args]
    if texts[:1] == ["--status-all"] or (len(texts) >= 2 and texts[1] == "status") or \
            texts[:1] in (["--help"], ["--version"]):
        w.read("service status")
    else:
        w.flag(2, f"{code('service ' + ' '.join(texts[:2]))} starts, stops or changes a "
                  "service.", "changes services")
    return Flow(name=name)


def subcommands(read: set[str], value_opts: set[str] = frozenset(), *, what: str = "",
                default_read: bool = False, depth_verbs: int = 1):
    """A tool whose first verb (after global options) decides: ``read`` verbs only read."""
    def rule(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
        vs = verbs(args, set(value_opts), depth_verbs)
        key = " ".join(vs)
        if (not vs and default_read) or (vs and (vs[0] in read or key in read)):
            w.read(f"{name} {key}".strip())
        else:
            shown = f"{name} {vs[0] if vs else ''}".strip()
            w.flag(2, f"{code(shown)} {what or 'changes state'}.", shown)
        return _source_flow(name, args)
    return rule


def date(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    o = parse(args, "dfrI", ("--date", "--file", "--reference"))
    if o.has("-s") or any(_long_prefix(f, "--set") for f in o.flags) or \
            any(not p.text.startswith("+") for p in o.positional):
        w.flag(2, f"{code('date -s')} sets the system clock.", "sets the clock")
    else:
        w.read("date")
    return Flow(name=name)


def hostname(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    o = parse(args, "F", ("--file",))
    if o.positional or o.has("-F", "-b") or \
            any(_long_prefix(f, "--file") or _long_prefix(f, "--boot") for f in o.flags):
        w.flag(2, f"{code('hostname NAME')} changes the machine's name.", "sets the host name")
    else:
        w.read("hostname")
    return Flow(name=name)


def named_settings(read: set[str], setters: set[str]):
    """hostnamectl / timedatectl / localectl: ``set-*`` verbs, or a getter given a value."""
    def rule(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
        o = parse(args, "H", ("--host", "--machine", "-M"))
        verb = o.positional[0].text.lower() if o.positional else ""
        if not verb or verb in read or (verb in setters and len(o.positional) == 1):
            w.read(f"{name} {verb}".strip())
        else:
            w.flag(2, f"{code(name + ' ' + verb)} changes system settings.", f"{name} {verb}")
        return Flow(name=name)
    return rule


def sed(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    in_place = False
    scripts: list[str] = []
    i = 0
    while i < len(args):
        t = args[i].text
        if t.startswith("--in-place") or t == "--in-pl" or _long_prefix(t.split("=")[0], "--in-place"):
            in_place = True
        elif t in ("-e", "--expression", "-f", "--file") and i + 1 < len(args):
            if t in ("-e", "--expression"):
                scripts.append(args[i + 1].text)
            i += 1
        elif t.startswith("--expression="):
            scripts.append(t.split("=", 1)[1])
        elif t.startswith("-") and not t.startswith("--") and len(t) > 1:
            for j, ch in enumerate(t[1:], start=1):
                if ch == "i":
                    in_place = True
                    break
                if ch in "efl":
                    if ch == "e":
                        scripts.append(t[j + 1:] or (args[i + 1].text if i + 1 < len(args) else ""))
                        if not t[j + 1:]:
                            i += 1
                    break
        elif not scripts:
            scripts.append(t)
        i += 1
    program = "\n".join(scripts)
    if in_place:
        w.flag(2, f"{code('sed -i')} edits files in place.", "sed -i")
    elif re.search(r"(^|[;\n}])\s*[0-9$,/]*\s*[wWe]\s|/[gpIiMm0-9]*[we]\b|^e\b", program):
        w.flag(2, "The sed program writes files or runs commands (w/e commands).",
               "sed writes or runs")
    else:
        w.read("sed")
    return Flow(name=name)


def awk(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    o = parse(args, "Ffviol", ("--field-separator", "--file", "--assign", "--include", "--load"),
              stop=True)
    program = "" if o.has("-f", "--file") else (o.positional[0].text if o.positional else "")
    if o.value("-i", "--include") == "inplace":
        w.flag(2, f"{code('awk -i inplace')} edits files in place.", "edits files")
    if o.has("-f", "--file"):
        w.flag(2, "The awk program comes from a file the checker cannot see.", "awk program file")
    for cmd in re.findall(r"system\s*\(\s*\"([^\"]*)\"", program):
        w.run_text(cmd, depth + 1)
    if re.search(r"system\s*\(|\|\s*getline|\|&|print[f]?[^;}]*\|\s*\"", program):
        w.flag(2, "The awk program runs shell commands (system() or a pipe).", "awk runs commands")
    elif re.search(r"print[f]?[^;}]*>{1,2}\s*[\"$a-zA-Z(]", program):
        w.flag(2, "The awk program writes to files.", "awk writes files")
    else:
        w.read("awk")
    return Flow(name=name)


def ip(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    vs = verbs(args, {"-n", "-netns", "-f", "-family", "-b", "-batch", "-rc", "-rcvbuf", "-l",
                      "-loops"}, 3)
    obj, verb = (vs + ["", ""])[:2]
    if vs[:2] == ["netns", "exec"] and len(vs) >= 3:
        idx = [a.text.lower() for a in args].index("exec")
        w.flag(2, f"{code('ip netns exec')} runs a command in another network namespace.",
               "runs in a namespace")
        return w.simple(args[idx + 2:], depth + 1) if len(args) > idx + 2 else Flow(name=name)
    if any(a.text in ("-b", "-batch", "-force") for a in args):
        w.flag(2, f"{code('ip -batch')} runs commands from a file.", "ip batch")
    elif verb in ("", "show", "list", "ls", "lst", "get", "help", "monitor", "save") or \
            obj in ("help", "-v", "-V"):
        w.read(f"ip {obj}".strip())
    else:
        w.flag(2, f"{code('ip ' + obj + ' ' + verb)} changes the network configuration.",
               "changes network")
    return Flow(name=name)


def ifconfig(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    pos = [a for a in args if not a.text.startswith("-")]
    if len(pos) <= 1:
        w.read(name)
    else:
        w.flag(2, f"{code(name)} with settings changes a network interface.", "changes network")
    return Flow(name=name)


def route(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    if any(a.text in ("add", "del", "delete", "flush", "change") for a in args):
        w.flag(2, f"{code(name)} changes the routing table.", "changes network")
    else:
        w.read(name)
    return Flow(name=name)


def sysctl(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    o = parse(args)
    if o.has("-w", "--write", "-p", "--load", "--system") or any("=" in p.text for p in o.positional):
        w.flag(2, f"{code('sysctl -w')} changes kernel settings.", "changes kernel settings")
    else:
        w.read("sysctl")
    return Flow(name=name)


_FIREWALL_WRITES = re.compile(
    r"^(-[ADIRFNXPZE][a-z]*|--(append|delete|insert|replace|flush|new-chain|delete-chain|"
    r"policy|zero|rename-chain|add-.*|remove-.*|set-.*|change-.*|new-.*|delete-.*|reload|"
    r"complete-reload|runtime-to-permanent|panic-on|lockdown-on|load-.*)|add|delete|insert|"
    r"flush|replace|reset|enable|disable|allow|deny|reject|limit|create|destroy|reload|"
    r"import|-f|--file)$")


def firewall(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    """iptables/nft/ufw/firewall-cmd: listing reads; any rule change needs approval."""
    if not args or any(_FIREWALL_WRITES.match(a.text) for a in args) or \
            (name == "iptables" and not any(a.text.startswith(("-L", "-S", "--list", "-C",
                                                               "--check", "-V", "--version",
                                                               "-h", "--help", "-nL", "-vL",
                                                               "-nvL", "-vnL"))
                                            for a in args)):
        w.flag(2, f"{code(name)} changes firewall rules.", "changes firewall")
    else:
        w.read(name)
    return Flow(name=name)


def crontab(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    o = parse(args, "u")
    if o.has("-l") and not o.has("-r", "-e", "-i"):
        w.read("crontab -l")
    elif o.has("-r"):
        w.flag(2, f"{code('crontab -r')} deletes all scheduled jobs of the user.", "crontab -r")
    else:
        w.flag(2, f"{code('crontab')} changes scheduled jobs.", "changes cron")
    return Flow(name=name)


def mount(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    o = parse(args, "tOoLU", ("--types", "--options", "--label", "--uuid"))
    if name == "mount" and not o.positional and not o.has("-a", "--all"):
        w.read("mount")
    elif name == "swapon" and (o.has("--show", "-s", "--summary") or not args):
        w.read("swapon")
    else:
        w.flag(2, f"{code(name)} mounts or unmounts file systems.", name)
    return Flow(name=name)


def kill(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    texts = [a.text for a in args]
    if name == "kill" and any(t in ("-l", "-L", "--list", "--table") for t in texts):
        w.read("kill -l")
    elif name == "kill" and any(t in ("1", "-1") for t in texts if not t.startswith("-") or t == "-1"):
        w.flag(3, f"{code('kill')} of process 1 or -1 kills init or every process of the user.",
               "kills everything")
    elif name in ("killall", "killall5", "pkill") and any(t in ("init", "systemd", "sshd", "-u")
                                                          for t in texts) and name != "pkill":
        w.flag(3, f"{code(name)} kills system-wide processes.", "kills everything")
    else:
        w.flag(2, f"{code(name)} stops running processes.", "kills processes")
    return Flow(name=name)


def tar(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    texts = [a.text for a in args]
    for t in texts:
        for prefix in ("--to-command=", "--checkpoint-action=exec=", "--use-compress-program=",
                       "--rsh-command=", "--info-script=", "--new-volume-script="):
            if t.startswith(prefix):
                w.flag(2, f"{code('tar ' + prefix.rstrip('='))} runs a command.", "tar runs commands")
                w.run_text(t[len(prefix):], depth + 1)
    first = texts[0] if texts else ""
    letters = first.lstrip("-") if first and not first.startswith("--") else ""
    listing = "t" in letters or "--list" in texts or "-t" in texts
    to_stdout = "O" in letters or "--to-stdout" in texts
    if (listing or to_stdout) and not any(c in letters for c in "cxruA"):
        w.read("tar -t")
    else:
        w.flag(2, f"{code('tar')} creates or extracts archives (writes files).", "writes files")
    return Flow(name=name)


def compressor(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    o = parse(args, "S", ("--suffix",))
    if o.has("-c", "--stdout", "--to-stdout", "-l", "--list", "-t", "--test") or \
            (not o.positional and name in ("gzip", "gunzip", "bzip2", "bunzip2", "xz", "unxz",
                                           "zstd", "unzstd")) or name in ("unzip",) and o.has("-l", "-t", "-p", "-v", "-z", "-Z"):
        w.read(name)
    else:
        w.flag(2, f"{code(name)} compresses or extracts files in place (writes files).",
               "writes files")
    return _source_flow(name, args)


def openssl(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    o = parse(args)
    if any(a.text in ("-out", "-keyout", "-outform") and a.text != "-outform" for a in args):
        w.flag(2, f"{code('openssl -out')} writes keys or certificates to files.", "writes files")
    else:
        w.read("openssl " + (o.positional[0].text if o.positional else ""))
    flow = _source_flow(name, args)
    flow.network = bool(o.positional) and o.positional[0].text in ("s_client", "s_time")
    flow.decoder = any(a.text == "-d" for a in args)
    return flow


def xxd(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    o = parse(args, "cglos", ("-cols", "-len", "-seek"))
    if len(o.positional) >= 2:
        w.flag(2, f"{code('xxd')} writes its output to {code(o.positional[1].text)}.", "writes a file")
    else:
        w.read("xxd")
    return _source_flow(name, args)


# -- network --------------------------------------------------------------------------------
CURL_VALUES = set("AbcCdDeEFHKmoPQrTuUwxXyYz") | {"h"}
CURL_LONG_VALUES = {"--request", "--data", "--data-raw", "--data-binary", "--data-urlencode",
                    "--data-ascii", "--json", "--form", "--form-string", "--upload-file",
                    "--output", "--output-dir", "--config", "--cookie-jar", "--dump-header",
                    "--trace", "--trace-ascii", "--libcurl", "--stderr", "--header", "--user",
                    "--user-agent", "--referer", "--cookie", "--proxy", "--max-time",
                    "--connect-timeout", "--retry", "--cacert", "--cert", "--key", "--resolve",
                    "--write-out", "--url", "--range", "--limit-rate", "--interface", "--quote",
                    "--time-cond", "--etag-save", "--hsts", "--alt-svc"}
CURL_WRITERS = {"-d", "-F", "-T", "--data", "--data-raw", "--data-binary", "--data-urlencode",
                "--data-ascii", "--json", "--form", "--form-string", "--upload-file", "-K",
                "--config", "-Q", "--quote"}
CURL_FILES = {"-o", "--output", "-O", "--remote-name", "--remote-name-all", "--output-dir",
              "-c", "--cookie-jar", "-D", "--dump-header", "--trace", "--trace-ascii",
              "--libcurl", "--stderr", "--etag-save", "--hsts", "--alt-svc", "-J",
              "--remote-header-name"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def _exfiltration(w: Walker, name: str, args: list[Word]) -> None:
    if any(a.subst for a in args):
        w.flag(2, f"{code(name)} sends the output of another command over the network.",
               "command output sent over the network")


def curl(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    o = parse(args, "".join(CURL_VALUES), tuple(CURL_LONG_VALUES))
    _exfiltration(w, name, args)
    method = (o.value("-X", "--request") or "GET").upper()
    writes = [f for f in o.flags if f in CURL_WRITERS]
    files = [f for f in o.flags if f in CURL_FILES]
    out = o.value("-o", "--output", "-D", "--dump-header", "-c", "--cookie-jar")
    if out is not None and device_kind(out) == "safe" or out == "-":
        files = [f for f in files if f not in ("-o", "--output", "-D", "--dump-header", "-c",
                                               "--cookie-jar")]
    if method not in SAFE_METHODS or (writes and not o.has("-G", "--get")):
        w.flag(2, f"{code(name)} sends data to a server ({method if method not in SAFE_METHODS else writes[0]}).",
               "network write")
    if files:
        w.destroys_device(out, code(name))
        w.flag(2, f"{code(name + ' ' + files[0])} saves what it downloads to a file.",
               "downloads to a file")
        if out:
            w.tainted_files.add(out)
    if not (method not in SAFE_METHODS or writes or files):
        w.read(name)
    return Flow(name=name, network=True)


def wget(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    o = parse(args, "OoaiPeUTtwQBDlA", ("--output-document", "--output-file", "--append-output",
                                        "--input-file", "--directory-prefix", "--post-data",
                                        "--post-file", "--method", "--body-data", "--body-file",
                                        "--header", "--user", "--password", "--execute"))
    _exfiltration(w, name, args)
    doc = o.value("-O", "--output-document")
    to_terminal = doc is not None and (doc == "-" or device_kind(doc) == "safe")
    if o.has("--post-data", "--post-file", "--body-data", "--body-file") or \
            (o.value("--method") or "GET").upper() not in SAFE_METHODS:
        w.flag(2, f"{code(name)} sends data to a server.", "network write")
    if o.has("-o", "--output-file", "-a", "--append-output", "-e", "--execute"):
        w.flag(2, f"{code(name)} writes a log file or runs wgetrc commands.", "writes a file")
    if not to_terminal and not o.has("--spider"):
        w.destroys_device(doc, code(name))
        w.flag(2, f"{code(name)} saves what it downloads to a file.", "downloads to a file")
        if doc:
            w.tainted_files.add(doc)
        for p in o.positional:
            w.tainted_files.add(p.text.rstrip("/").rsplit("/", 1)[-1])
    else:
        w.read(name)
    return Flow(name=name, network=True)


def httpie(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    o = parse(args, "adoA", ("--auth", "--output", "--download", "--auth-type", "--session"))
    _exfiltration(w, name, args)
    pos = [p.text for p in o.positional]
    method = pos[0].upper() if pos and pos[0].isalpha() and pos[0].isupper() else "GET"
    items = [p for p in pos[1:] if re.search(r"(:=|==|=|@)", p) and "==" not in p]
    if method not in SAFE_METHODS or items or o.has("-f", "--form", "--raw"):
        w.flag(2, f"{code(name)} sends data to a server.", "network write")
    elif o.has("-o", "--output", "-d", "--download"):
        w.flag(2, f"{code(name)} saves what it downloads to a file.", "downloads to a file")
    else:
        w.read(name)
    return Flow(name=name, network=True)


def netcat(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    o = parse(args, "ecpsiwxXqOIT", ("--exec", "--sh-exec", "--lua-exec"))
    if o.has("-e", "-c", "--exec", "--sh-exec", "--lua-exec"):
        w.flag(3, f"{code(name + ' -e')} connects a program (usually a shell) to the network: "
                  "a remote shell.", "remote shell")
    elif o.has("-z"):
        w.read(name + " -z")
    elif o.has("-l", "--listen"):
        w.flag(2, f"{code(name + ' -l')} opens a listening network port.", "listens on network")
    else:
        w.flag(2, f"{code(name)} sends its input over the network.", "network write")
    return Flow(name=name, network=True)


def socat(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    if any(re.match(r"(?i)^(exec|system):", a.text) for a in args):
        w.flag(3, f"{code('socat EXEC:')} connects a program to a network socket: a remote shell.",
               "remote shell")
    else:
        w.flag(2, f"{code('socat')} relays data over the network.", "network write")
    return Flow(name=name, network=True)


def ssh(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    spec = "bcDEeFIiJLlmOoPpQRSWw"
    o = parse(args, spec, stop=True)
    payload = o.positional[1:]
    values = list(o.values.get("-o", []))
    if payload:  # OpenSSH reads options after the destination too (ssh host -t -- cmd)
        after = parse(payload, spec, stop=True)
        payload = after.positional
        values += after.values.get("-o", [])
    for opt in values:
        key, _, value = opt.partition("=")
        if key.strip().lower() in ("proxycommand", "localcommand", "permitlocalcommand",
                                   "knownhostscommand", "remotecommand"):
            w.flag(2, f"{code('ssh -o ' + key)} runs a local command.", "ssh runs local command")
            w.run_text(value or opt.split(None, 1)[-1], depth + 1)
    if not payload:  # the remote shell runs what ssh reads (`ssh host <<EOF`)
        w.flag(2, f"{code('ssh')} opens a remote session on another machine.", "remote session")
        return Flow(name=name, network=True, sink="shell")
    w.flag(2, f"{code('ssh')} runs a command on another machine.", "remote command")
    remote = w.run_text(" ".join(p.text for p in payload), depth + 1)
    return Flow(name=remote.name if remote.sink else name, network=True, sink=remote.sink)


# -- wrappers -------------------------------------------------------------------------------
def wrapper(short_values: str = "", long_values: tuple = (), *, min_tier: int = 1,
            what: str = "", skip: int = 0, payload_required: bool = False):
    """A command that runs another command (its payload): classified by the payload.
    ``skip``: positional words before the payload (timeout's DURATION, chroot's NEWROOT)."""
    def rule(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
        o = parse(args, short_values, long_values, stop=True)
        payload = o.positional[skip:]
        if min_tier > 1:
            w.flag(min_tier, f"{code(name)} {what}.", name)
        if not payload:
            if payload_required:
                w.flag(2, f"{code(name)} without a command starts an interactive session.", name)
            else:
                w.read(name)
            return Flow(name=name)
        return w.simple(payload, depth + 1)
    return rule


def sudo(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    o = parse(args, "ughpCDrtUTa" if name == "sudo" else "uC", (
        "--user", "--group", "--host", "--prompt", "--close-from", "--chdir", "--role", "--type",
        "--other-user", "--command-timeout", "--auth-type"), stop=True)
    w.flag(2, f"{code(name)} runs the command with administrator (root) rights.",
           "privilege escalation")
    if o.has("-e", "--edit"):
        w.flag(2, f"{code(name + ' -e')} edits files as root.", "edits files")
        return Flow(name=name)
    if not o.positional:  # an interactive root shell (it reads commands from its input)
        return Flow(name=name, sink="shell" if o.has("-s", "-i", "--shell", "--login") else None)
    return w.simple(o.positional, depth + 1)


def su(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    o = parse(args, "cCsgGw", ("--command", "--session-command", "--shell", "--group",
                               "--supp-group", "--whitelist-environment"))
    w.flag(2, f"{code(name)} runs commands as another user (usually root).", "privilege escalation")
    payload = o.value("-c", "--command", "--session-command", "-C")
    if payload is not None:
        return w.run_text(payload, depth + 1)
    return Flow(name=name, sink="shell")


def env(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    i = 0
    while i < len(args):
        t = args[i].text
        if t in ("-u", "--unset", "-C", "--chdir", "-P"):
            i += 2
            continue
        if t in ("-S", "--split-string") and i + 1 < len(args):
            return w.run_text(" ".join(a.text for a in args[i + 1:]), depth + 1)
        if t.startswith("-S") and len(t) > 2:
            return w.run_text(t[2:] + " " + " ".join(a.text for a in args[i + 1:]), depth + 1)
        if t.startswith("--split-string="):
            return w.run_text(t.split("=", 1)[1], depth + 1)
        if t == "--":
            i += 1
            break
        if t.startswith("-"):
            i += 1
            continue
        if re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", t):
            w.assignment(t, depth)
            i += 1
            continue
        break
    if i >= len(args):
        w.read("env")
        return Flow(name=name)
    return w.simple(args[i:], depth + 1)


def xargs(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    o = parse(args, "adEILnPs", ("--arg-file", "--delimiter", "--eof", "--max-args",
                                 "--max-procs", "--max-chars", "--process-slot-var"), stop=True)
    if not o.positional:
        w.read("xargs")
        return Flow(name=name)
    replace = o.value("-I")
    for a in args[: len(args) - len(o.positional)]:
        if a.text.startswith("-i") or a.text.startswith("--replace"):
            replace = a.text[2:] if a.text.startswith("-i") else a.text.partition("=")[2]
            replace = replace or "{}"
    payload = o.positional
    if replace:  # the replace string becomes input read at run time: a computed word
        payload = [Word(p.text.replace(replace, "${XARGS_INPUT}"), p.raw, dynamic=True,
                        subst=p.subst, flow=p.flow, procsub=p.procsub)
                   if replace in p.text else p for p in payload]
    return w.simple(payload, depth + 1)


def watch(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    # -d/--differences take an optional value, which must be attached (-d=permanent)
    o = parse(args, "nq", ("--interval", "--equexit"), stop=True)
    if not o.positional:
        w.read("watch")
        return Flow(name=name)
    if o.has("-x", "--exec"):
        return w.simple(o.positional, depth + 1)
    return w.run_text(" ".join(p.text for p in o.positional), depth + 1)


def flock(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    o = parse(args, "wEc", ("--timeout", "--wait", "--conflict-exit-code", "--command"), stop=True)
    cmd = o.value("-c", "--command")
    if cmd is None and len(o.positional) > 2 and o.positional[1].text in ("-c", "--command"):
        cmd = o.positional[2].text
    if cmd is not None:
        return w.run_text(cmd, depth + 1)
    if len(o.positional) <= 1:
        w.read("flock")
        return Flow(name=name)
    return w.simple(o.positional[1:], depth + 1)


def pager(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    """``less +cmd`` runs ``cmd`` as if typed in the pager at start: ``!`` there runs a
    shell command and ``|`` pipes to one (classified as that command, and tier 2 at
    least); ``-o`` and ``--log-file`` copy the input to a file."""
    o = parse(args, "oObBhjkpPtTxyz#", ("--log-file", "--LOG-FILE", "--tag", "--pattern",
                                       "--prompt", "--tag-file"))
    flagged = o.has("-o", "-O", "--log-file", "--LOG-FILE")
    if flagged:
        w.flag(2, f"{code(name + ' -o')} writes what it shows to a file.", f"{name} -o")
    for word in args:
        text = word.text
        if not text.startswith("+"):
            continue
        body = text.lstrip("+")
        bang, pipe = body.find("!"), body.find("|")
        if bang < 0 and pipe < 0:
            continue
        flagged = True
        if bang >= 0 and (pipe < 0 or bang < pipe):
            payload, how = body[bang + 1:], "!"
        else:
            payload, how = body[pipe + 2:], "|"  # "|" and a mark letter, then the command
        if payload.strip():
            w.run_text(payload, depth + 1)
        w.flag(2, f"{code(text)} makes {code(name)} run a shell command.", f"{name} +{how}")
    if not flagged:
        w.read(name)
    return _source_flow(name, args)


def time_(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    o = parse(args, "fo", ("--format", "--output"), stop=True)
    if o.has("-o", "--output"):
        w.flag(2, f"{code('time -o')} writes its report to a file.", "writes a file")
    if not o.positional:
        w.read("time")
        return Flow(name=name)
    return w.simple(o.positional, depth + 1)


def command_builtin(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    o = parse(args, stop=True)
    if name == "command" and o.has("-v", "-V"):
        w.read("command -v")
        return Flow(name=name)
    if not o.positional:
        w.read(name)
        return Flow(name=name)
    return w.simple(o.positional, depth + 1)


def exec_(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    o = parse(args, "a", stop=True)
    if not o.positional:
        w.read("exec")
        return Flow(name=name)
    return w.simple(o.positional, depth + 1)


def busybox(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    if not args or args[0].text.startswith("-"):
        w.read("busybox")
        return Flow(name=name)
    return w.simple(args, depth + 1)


def container_exec(w: Walker, name: str, args: list[Word], depth: int, *, verb: str,
                   value_opts: str, long_values: tuple) -> Flow:
    """docker/podman exec|run: tier 2, or the payload's tier when that is higher."""
    o = parse(args, value_opts, long_values, stop=True)
    payload = o.positional[1:]
    w.flag(2, f"{code(name + ' ' + verb)} runs a command inside a container.", f"{name} {verb}")
    if payload:
        return w.simple(payload, depth + 1)
    return Flow(name=name)


# -- shells and interpreters ----------------------------------------------------------------
def shell(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    i, command_mode = 0, False
    while i < len(args):
        t = args[i].text
        if t in ("-o", "+o", "-O", "+O", "--rcfile", "--init-file"):
            i += 2
            continue
        if t == "--":
            i += 1
            break
        if re.match(r"^[-+][a-zA-Z]+$", t):
            command_mode |= "c" in t
            i += 1
            continue
        if t.startswith("--"):
            i += 1
            continue
        break
    rest = args[i:]
    if command_mode:
        if not rest:
            w.flag(3, f"{code(name + ' -c')} has no command to run.", "unparseable")
            return Flow(name=name)
        return w.run_text(rest[0].text, depth + 1)
    if not rest or rest[0].text in ("-", "/dev/stdin") or any(
            re.match(r"^-[a-zA-Z]*s", a.text) for a in args[:i]):
        w.flag(2, f"{code(name)} runs whatever commands it reads from its input.", "runs a shell")
        return Flow(name=name, sink="shell")
    script = rest[0]
    return _script_file(w, name, script, "shell")


def _script_file(w: Walker, name: str, script: Word, kind: str) -> Flow:
    if script.procsub:
        if script.flow.network or script.flow.decoder:
            w.fed(Flow(name=name, sink=kind), [script.flow], "is handed as a script to", 0)
        w.flag(2, f"{code(name)} runs a script produced by another command.", "runs a script")
        return Flow(name=name)
    w.run_files.add(script.text)
    w.flag(2, f"{code(name)} runs the script {code(script.text)}, which the checker cannot "
              "see.", "runs a script file")
    return Flow(name=name)


_NET_CODE = re.compile(r"urlopen|urllib|requests\.(get|post)|http\.client|socket\.|fetch\(|"
                       r"LWP|Net::HTTP|open-uri|URI\.open|file_get_contents\(\s*['\"]https?:|"
                       r"curl_exec|WebClient|DownloadString|Invoke-WebRequest|iwr |irm ", re.I)
_EXEC_CODE = re.compile(r"\bexec\s*\(|\beval\s*\(|compile\s*\(|Function\s*\(|"
                        r"\bIEX\b|Invoke-Expression|__import__|b64decode|base64", re.I)
_SHELL_CALL = re.compile(r"(?:system|popen|call|run|check_call|check_output|Popen|getoutput|"
                         r"getstatusoutput|execSync|spawnSync|spawn|exec|shell_exec|passthru|"
                         r"proc_open|`)\s*\(?\s*\[?\s*(['\"])(.+?)\1")
_TREE_DELETE = re.compile(r"rmtree|rm_rf|rm_r\b|remove_tree|rimraf|rmSync\([^)]*recursive|"
                          r"Remove-Item[^;]*-Recurse", re.I)


def inline_code(w: Walker, name: str, program: str, depth: int) -> None:
    w.flag(2, f"{code(name)} runs inline program code, which the checker cannot judge line by "
              "line.", "inline code")
    if _NET_CODE.search(program) and _EXEC_CODE.search(program):
        w.flag(3, f"The {name} code downloads something and runs it as code.",
               "network data run as code")
    if _TREE_DELETE.search(program):
        w.flag(3, f"The {name} code deletes a folder tree without asking.",
               "recursive force delete")
    for match in _SHELL_CALL.finditer(program):
        w.run_text(match.group(2), depth + 1)


def _fetched_code(w: Walker, name: str, words: list[Word]) -> None:
    """``python3 -c "$(curl …)"``: the program itself comes from the network or a decoder."""
    if any(a.flow.network for a in words):
        w.fed(Flow(name=name, sink="interpreter"), [Flow(network=True)],
              "is handed as inline code to", 0)
    elif any(a.flow.decoder for a in words):
        w.fed(Flow(name=name, sink="interpreter"), [Flow(decoder=True)],
              "is handed as inline code to", 0)


def interpreter(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    code_opts = INLINE_CODE.get(name, ())
    i = 0
    while i < len(args):
        t = args[i].text
        if t in ("--version", "-V", "-v", "--help", "-h") and len(args) == 1:
            w.read(f"{name} {t}")
            return Flow(name=name)
        if name == "deno" and t == "eval" or t in [o for o in code_opts if o.startswith("--")]:
            _fetched_code(w, name, args[i + 1:])
            inline_code(w, name, " ".join(a.text for a in args[i + 1:]), depth)
            return Flow(name=name)
        if t.startswith("-") and len(t) > 1 and not t.startswith("--"):
            letters = t[1:]
            for j, ch in enumerate(letters):
                if ch in code_opts:
                    program = letters[j + 1:] or (args[i + 1].text if i + 1 < len(args) else "")
                    _fetched_code(w, name, args[i:i + 2])
                    inline_code(w, name, program, depth)
                    return Flow(name=name)
                if name == "python" and ch in "mWXQ":
                    if ch == "m":
                        module = letters[j + 1:] or (args[i + 1].text if i + 1 < len(args) else "")
                        if module in ("json.tool", "platform", "sysconfig"):
                            w.read(f"python -m {module}")
                            return Flow(name=name)
                        w.flag(2, f"{code('python -m ' + module)} runs a Python module.",
                               "runs a module")
                        return Flow(name=name)
                    i += 1
                    break
            i += 1
            continue
        if t.startswith("--"):
            i += 1
            continue
        break
    rest = args[i:]
    if not rest or rest[0].text in ("-", "/dev/stdin"):
        w.flag(2, f"{code(name)} runs whatever program it reads from its input.",
               "inline code")
        return Flow(name=name, sink="interpreter")
    return _script_file(w, name, rest[0], "interpreter")


def eval_(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    if not args:
        w.read("eval")
        return Flow(name=name)
    return w.run_text(" ".join(a.text for a in args), depth + 1)


def source(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    if not args:
        w.read(name)
        return Flow(name=name)
    if args[0].text in ("/dev/stdin", "-"):
        w.flag(2, f"{code(name)} runs whatever commands it reads from its input.", "runs a shell")
        return Flow(name=name, sink="shell")
    return _script_file(w, name, args[0], "shell")


def declare(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    """export/declare/local/readonly/typeset: the assignments they make still count."""
    for a in args:
        if re.match(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=", a.text):
            w.assignment(a.text, depth)
    w.read(name)
    return Flow(name=name)


def ps_words(raw: str) -> list[Word]:
    """Split a Windows command line as PowerShell/cmd do: backslashes are path separators,
    not escapes, and only quotes group."""
    tokens = re.findall(r"'[^']*'|\"[^\"]*\"|[^\s'\"]+(?:'[^']*'|\"[^\"]*\"|[^\s'\"]+)*", raw)
    return [Word(t.strip("'\"") if t[:1] in "'\"" else t, t, dynamic="$" in t) for t in tokens]


def is_windows_command(name: str) -> bool:
    return bool(_CMDLET.match(name)) or name in WINDOWS_COMMANDS


def trap_alias(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    texts = [a.text for a in args if not a.text.startswith("-")]
    if name == "trap" and texts:
        w.run_text(texts[0], depth + 1)
    elif name == "alias":
        for t in texts:
            if "=" in t:
                w.run_text(t.split("=", 1)[1], depth + 1)
    w.read(name)
    return Flow(name=name)


def echo(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    w.read(name)
    flow = Flow(name=name)
    rest, escapes = list(args), False
    if name == "echo":
        while rest and re.match(r"^-[neE]+$", rest[0].text):
            escapes |= "e" in rest[0].text
            rest = rest[1:]
    elif rest and rest[0].text == "-v" and len(rest) > 1:
        return flow
    text = " ".join(a.text for a in rest)
    if any(a.dynamic for a in rest):
        flow.decoder = any(a.raw.startswith("$'") for a in rest)
        return flow
    if (name == "printf" or escapes) and re.search(r"\\(x|[0-7]|u|U|e|c)|%b", text):
        flow.decoder = True
        return flow
    flow.literal = text
    return flow


def cmd_exe(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    for i, a in enumerate(args):
        if a.text.lower() in ("/c", "/k", "/r"):
            return w.run_text(" ".join(x.text for x in args[i + 1:]), depth + 1)
    w.flag(2, f"{code(name)} starts a Windows command shell.", "runs a shell")
    return Flow(name=name, sink="shell")


def pwsh(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    texts = [a.text for a in args]
    for i, t in enumerate(texts):
        low = "-" + t[1:].lower() if t.startswith("/") and len(t) > 1 else t.lower()
        # any prefix of -EncodedCommand is accepted (-enco, -Encoded), and -ec
        if low == "-ec" or low.startswith("-encodedcommand") or \
                (low.startswith("-e") and "-encodedcommand".startswith(low)):
            w.flag(3, f"{code(name + ' ' + t)} runs base64-encoded code that cannot be checked.",
                   "decoded data run as code")
            return Flow(name=name)
        if low in ("-command", "-c", "-co", "-com", "-comm"):
            rest = " ".join(texts[i + 1:])
            if rest.strip() == "-":
                return Flow(name=name, sink="shell")
            return w.run_text(rest, depth + 1)
        if low in ("-file", "-f") and i + 1 < len(args):
            return _script_file(w, name, args[i + 1], "shell")
    positional = [t for t in texts if not t.startswith("-")]
    if positional:
        return w.run_text(" ".join(positional), depth + 1)
    w.flag(2, f"{code(name)} starts a PowerShell session that runs what it reads.", "runs a shell")
    return Flow(name=name, sink="shell")


# -- orchestration tools --------------------------------------------------------------------
KUBECTL_OPTS = {"-n", "--namespace", "--context", "--cluster", "--user", "--kubeconfig", "-s",
                "--server", "--token", "--as", "--as-group", "--as-uid", "--request-timeout",
                "--certificate-authority", "--client-certificate", "--client-key",
                "--tls-server-name", "--cache-dir", "-v", "--v", "--log-file", "--password",
                "--username", "--profile", "--profile-output", "--vmodule", "--log-dir",
                "-o", "--output", "-l", "--selector", "-c", "--container", "-f", "--filename",
                "--field-selector", "--sort-by", "--since", "--tail", "--template", "-L",
                "--label-columns", "--chunk-size", "--type", "--for", "--timeout", "-p",
                "--revision", "--to-revision", "--replicas", "--image", "--port", "-k",
                "--kustomize", "--subresource", "--raw", "--show-kind"}
KUBECTL_READ = {"get", "describe", "logs", "log", "top", "explain", "api-resources",
                "api-versions", "version", "cluster-info", "events", "wait", "diff",
                "completion", "help", "options", "kustomize", "--help", "-h", "--version"}
KUBECTL_SUB_READ = {"rollout": {"status", "history"},
                    "config": {"view", "get-contexts", "current-context", "get-clusters",
                               "get-users"},
                    "auth": {"can-i", "whoami"}, "plugin": {"list"},
                    "certificate": set(), "alpha": set()}


def kubectl(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    if name in ("oc", "microk8s", "k3s") and args and args[0].text == "kubectl":
        args = args[1:]
    vs = verbs(args, KUBECTL_OPTS, 2)
    verb = vs[0] if vs else ""
    flow = Flow(name=name, network=True)
    if not verb:
        w.read(name)
        return flow
    if verb in KUBECTL_SUB_READ:
        sub = vs[1] if len(vs) > 1 else ""
        if sub in KUBECTL_SUB_READ[verb] or (verb == "config" and not sub):
            w.read(f"kubectl {verb} {sub}".strip())
        else:
            w.flag(2, f"{code('kubectl ' + verb + ' ' + sub)} changes the cluster or the "
                      "kubeconfig.", f"kubectl {verb} {sub}".strip())
        return flow
    if verb in KUBECTL_READ:
        w.read(f"kubectl {verb}")
        return flow
    if verb == "delete":
        texts = [a.text for a in args]
        if any(t in ("--all", "-A", "--all-namespaces") or t.startswith(("--all=true",
               "--all-namespaces=true")) for t in texts):
            w.flag(3, f"{code('kubectl delete --all')} deletes every resource of a kind (or in "
                      "every namespace) at once.", "mass delete")
            return flow
    if verb in ("exec", "run", "debug", "attach"):
        texts = [a.text for a in args]
        w.flag(2, f"{code('kubectl ' + verb)} runs a command inside the cluster.",
               f"kubectl {verb}")
        if "--" in texts:
            payload = args[texts.index("--") + 1:]
        elif verb == "exec":
            o = parse(args[texts.index("exec") + 1:] if "exec" in texts else [],
                      "cnfp", ("--container", "--namespace", "--filename", "--pod-running-timeout"),
                      stop=True)
            payload = o.positional[1:]
        else:
            payload = []
        if payload:
            inner = w.simple(payload, depth + 1)
            flow.merge(inner)
            if inner.sink:  # `kubectl exec -i pod -- sh <<EOF`: the shell reads the body
                flow.sink, flow.name = inner.sink, inner.name
        return flow
    w.flag(2, f"{code('kubectl ' + verb)} changes resources in the cluster.", f"kubectl {verb}")
    return flow


DOCKER_OPTS = {"-H", "--host", "--context", "-c", "--config", "-l", "--log-level", "--tlscacert",
               "--tlscert", "--tlskey", "--url", "--connection", "--root", "--runroot",
               "--storage-driver", "--cgroup-manager", "--events-backend", "--runtime",
               "--namespace", "-n", "--address", "-a"}
DOCKER_READ = {"ps", "images", "inspect", "logs", "stats", "top", "version", "info", "events",
               "history", "port", "diff", "search", "help", "--version", "--help", "-v"}
DOCKER_OBJECT_READ = {"ls", "list", "ps", "inspect", "logs", "stats", "top", "df", "events",
                      "history", "show", "port", "diff", "info", "version", "config", "images",
                      "exists", "healthcheck", "tree", "du"}
DOCKER_OBJECTS = {"container", "image", "network", "volume", "system", "compose", "context",
                  "buildx", "node", "service", "stack", "secret", "config", "plugin", "manifest",
                  "machine", "pod", "builder", "trust", "swarm", "checkpoint", "generate",
                  "namespaces", "images", "containers", "tasks", "snapshots", "content", "leases"}
DOCKER_RUN_VALUES = ("-e", "--env", "--env-file", "-v", "--volume", "--mount", "-p", "--publish",
                     "--name", "-w", "--workdir", "-u", "--user", "--network", "--net",
                     "--entrypoint", "-h", "--hostname", "-l", "--label", "--cpus", "-m",
                     "--memory", "--add-host", "--dns", "--device", "--cap-add", "--cap-drop",
                     "--security-opt", "--restart", "--platform", "--pull", "--log-driver",
                     "--log-opt", "--ulimit", "--ipc", "--pid", "--runtime", "--gpus", "--tmpfs",
                     "--shm-size", "--stop-signal", "--stop-timeout", "--health-cmd", "-a",
                     "--attach", "--cidfile", "--group-add", "--label-file", "--userns", "--uts",
                     "--volumes-from", "--expose", "--link", "--ip", "--pids-limit", "--sysctl",
                     "--detach-keys", "-c", "--cpu-shares", "--cpuset-cpus", "--memory-swap")


def docker(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    i = verb_index(args, DOCKER_OPTS)
    verb = args[i].text.lower() if i < len(args) else ""
    rest = args[i + 1:]
    if verb in DOCKER_OBJECTS and rest:
        j = verb_index(rest, {"-f", "--file", "-p", "--project-name", "--profile", "--env-file",
                              "--project-directory"})
        sub = rest[j].text.lower() if j < len(rest) else ""
        if sub in ("exec", "run") and verb in ("container", "compose"):
            return _docker_exec(w, name, sub, rest[j + 1:], depth, compose=verb == "compose")
        if sub in DOCKER_OBJECT_READ or sub in ("--help", "-h", ""):
            w.read(f"{name} {verb} {sub}".strip())
        else:
            w.flag(2, f"{code(name + ' ' + verb + ' ' + sub)} changes containers, images or "
                      "their settings.", f"{name} {verb} {sub}")
        return Flow(name=name)
    if not verb or verb in DOCKER_READ:
        w.read(f"{name} {verb}".strip())
        return Flow(name=name)
    if verb in ("exec", "run"):
        return _docker_exec(w, name, verb, rest, depth)
    w.flag(2, f"{code(name + ' ' + verb)} changes containers, images or their settings.",
           f"{name} {verb}")
    return Flow(name=name)


def _docker_exec(w, name, verb, rest, depth, compose=False):
    values = "ewuv" if verb == "exec" else "evpwuhlmac"
    longs = ("--env", "--env-file", "--user", "--workdir", "--detach-keys") if verb == "exec" \
        else DOCKER_RUN_VALUES
    return container_exec(w, name, rest, depth, verb=verb, value_opts=values, long_values=longs)


GIT_OPTS = {"-C", "-c", "--git-dir", "--work-tree", "--namespace", "--exec-path",
            "--config-env", "--super-prefix"}
GIT_READ = {"status", "log", "show", "diff", "rev-parse", "rev-list", "ls-files", "ls-tree",
            "ls-remote", "blame", "grep", "describe", "shortlog", "cat-file", "whatchanged",
            "show-ref", "show-branch", "for-each-ref", "count-objects", "name-rev", "merge-base",
            "check-ignore", "check-attr", "version", "help", "diff-tree", "diff-files",
            "diff-index", "var", "verify-commit", "verify-tag", "annotate", "cherry", "range-diff",
            "--version", "--help", "-h"}
GIT_LISTING = {"branch": {"-a", "-r", "-l", "--list", "-v", "-vv", "--all", "--remotes",
                          "--merged", "--no-merged", "--contains", "--no-contains",
                          "--show-current", "--sort", "--format", "--points-at", "--color",
                          "--no-color", "--column", "--no-column", "-av", "-avv", "-rv", "-vva"},
               "tag": {"-l", "--list", "-n", "--sort", "--contains", "--merged", "--no-merged",
                       "--points-at", "--format", "--column"},
               "remote": {"-v", "--verbose", "show", "get-url"},
               "stash": {"list", "show"}, "worktree": {"list"}, "reflog": {"show"},
               "notes": {"list", "show"}, "submodule": {"status", "summary"},
               "config": {"--get", "--get-all", "--get-regexp", "--list", "-l", "--show-origin",
                          "--show-scope", "--name-only", "--get-urlmatch", "get", "list"}}
GIT_RUNS = re.compile(r"(pager|editor|sshcommand|fsmonitor|hookspath|^alias\.|external|textconv|"
                      r"helper|askpass|packobjectshook|proxycommand|program|sequence)", re.I)


def git(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    i, texts = 0, [a.text for a in args]
    while i < len(texts) and texts[i].startswith("-"):
        if texts[i] == "-c" and i + 1 < len(texts):
            key, _, value = texts[i + 1].partition("=")
            if GIT_RUNS.search(key):
                w.flag(2, f"{code('git -c ' + key)} makes git run a command.", "git runs commands")
                w.run_text(value.lstrip("!"), depth + 1)
        i += 2 if texts[i] in GIT_OPTS else 1
    verb = texts[i].lower() if i < len(texts) else ""
    rest = texts[i + 1:]
    if verb in GIT_READ and not any(t.startswith(("--output", "--ext-diff")) for t in rest):
        w.read(f"git {verb}")
    elif verb in GIT_LISTING:
        if _git_lists(verb, rest):
            w.read(f"git {verb}")
        else:
            w.flag(2, f"{code('git ' + verb)} changes the repository.", f"git {verb}")
    elif not verb:
        w.read("git")
    else:
        w.flag(2, f"{code('git ' + verb)} changes the repository or talks to a remote.",
               f"git {verb}")
    return Flow(name=name, network=verb in ("fetch", "pull", "clone", "ls-remote", "archive"))


def _git_lists(verb: str, rest: list[str]) -> bool:
    """branch/tag/remote/config/stash/…: do these arguments only list or show?"""
    positional = [t for t in rest if not t.startswith("-")]
    options = {t.split("=", 1)[0] for t in rest if t.startswith("-")}
    allowed = GIT_LISTING[verb]
    if verb == "config":
        if set(rest) & {"--unset", "--unset-all", "--add", "--replace-all", "--edit", "-e",
                        "--remove-section", "--rename-section", "set", "unset", "edit"}:
            return False
        return bool(options & allowed) or positional[:1] in (["get"], ["list"]) or \
            len(positional) <= 1
    if verb in ("branch", "tag"):
        listing = {"--list", "-l", "--contains", "--no-contains", "--merged", "--no-merged",
                   "--points-at"}
        return options <= allowed and (not positional or bool(options & listing))
    if not positional:
        return verb != "stash"
    return positional[0] in allowed


HELM_OPTS = {"-n", "--namespace", "--kube-context", "--kubeconfig", "--registry-config",
             "--repository-cache", "--repository-config", "--kube-apiserver", "--kube-as-user",
             "--kube-as-group", "--kube-token", "--kube-ca-file", "--burst-limit", "--qps"}
HELM_READ = {"list", "ls", "status", "history", "get", "show", "inspect", "search", "version",
             "env", "template", "lint", "verify", "completion", "help", "repo list",
             "dependency list", "dep list", "plugin list", "--help", "-h", "--version"}


# -- package managers -----------------------------------------------------------------------
PKG_READ = {
    "apt": {"list", "search", "show", "policy", "depends", "rdepends", "changelog", "showsrc",
            "help", "--version", "-v", "madison"},
    "apt-get": {"check", "changelog", "--version", "-v", "help", "--help", "-h", "--simulate",
                "-s", "--dry-run"},
    "apt-cache": None,   # read-only tool
    "dpkg-query": None,
    "yum": {"list", "info", "search", "provides", "whatprovides", "repolist", "history",
            "check-update", "deplist", "repoquery", "help", "--version", "version", "updateinfo"},
    "dnf": {"list", "info", "search", "provides", "repolist", "history", "check-update",
            "repoquery", "help", "--version", "updateinfo", "deplist", "alias"},
    "zypper": {"search", "se", "info", "if", "list-updates", "lu", "patches", "repos", "lr",
               "products", "pd", "packages", "pa", "patterns", "pt", "--version", "help"},
    "apk": {"info", "list", "search", "policy", "stats", "version", "dot", "--version"},
    "snap": {"list", "info", "find", "version", "changes", "services", "connections", "logs",
             "--version", "help"},
    "flatpak": {"list", "info", "search", "remotes", "remote-ls", "history", "ps", "--version"},
    "brew": {"list", "ls", "info", "search", "outdated", "deps", "uses", "config", "doctor",
             "leaves", "--version", "help", "desc", "home"},
    "pip": {"list", "show", "freeze", "check", "search", "index", "debug", "help", "--version",
            "-V", "inspect", "config list", "cache list", "cache info"},
    "pipx": {"list", "--version", "environment"},
    "npm": {"ls", "list", "view", "info", "show", "outdated", "doctor", "help", "--version",
            "-v", "root", "bin", "prefix", "search", "explain", "why", "config get",
            "config list", "whoami", "ping", "audit"},
    "pnpm": {"ls", "list", "view", "info", "outdated", "--version", "why", "root", "audit"},
    "yarn": {"list", "info", "why", "--version", "outdated", "audit", "config get"},
    "gem": {"list", "search", "info", "query", "specification", "environment", "contents",
            "which", "outdated", "--version", "help"},
    "cargo": {"--version", "search", "tree", "metadata", "version", "help"},
    "go": {"version", "env", "list", "doc", "help", "vet"},
    "conda": {"list", "info", "search", "--version", "env list"},
}


def dpkg(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    texts = [a.text for a in args]
    reads = {"-l", "--list", "-L", "--listfiles", "-s", "--status", "-S", "--search", "-p",
             "--print-avail", "--get-selections", "-C", "--audit", "--print-architecture",
             "--compare-versions", "--version", "--help", "-c", "--contents", "-I", "--info",
             "--print-foreign-architectures", "-W", "--show", "-f", "--field"}
    if name == "rpm":
        if texts and (re.match(r"^-q", texts[0]) or texts[0] in ("--query", "-V", "--verify",
                                                                  "--version", "--eval", "-E",
                                                                  "--showrc", "--help")):
            w.read("rpm -q")
            return Flow(name=name)
    elif texts and texts[0] in reads:
        w.read(f"{name} {texts[0]}")
        return Flow(name=name)
    w.flag(2, f"{code(name)} installs, removes or changes packages.", "changes packages")
    return Flow(name=name)


def pacman(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    first = args[0].text if args else ""
    if re.match(r"^-(Q|F)[a-zA-Z]*$", first) or re.match(r"^-S[silgc]+$", first) or \
            first in ("--query", "--files", "-V", "--version", "-h", "--help"):
        w.read(f"{name} {first}")
    else:
        w.flag(2, f"{code(name + ' ' + first)} installs, removes or upgrades packages.",
               "changes packages")
    return Flow(name=name)


# -- Windows --------------------------------------------------------------------------------
_CMDLET = re.compile(r"^[a-z]+-[a-z][a-z0-9]*$")
PS_READ_VERBS = {"get", "test", "select", "where", "sort", "format", "measure", "convertto",
                 "convertfrom", "compare", "find", "resolve", "read", "group", "show", "search",
                 "trace", "wait", "write", "out", "foreach", "tee", "import", "split", "join",
                 "confirm", "debug", "ping", "use", "push", "pop", "checkpoint"}
PS_WRITERS = {"out-file", "export-csv", "export-clixml", "set-content", "add-content",
              "write-eventlog", "import-module", "export-modulemember", "tee-object",
              "export-certificate", "export-pfxcertificate", "push-location", "pop-location",
              "import-certificate", "import-pfxcertificate", "export-binarymilocalizedresources"}
PS_READERS = {"out-string", "out-host", "out-null", "out-default", "out-gridview",
              "push-location", "pop-location", "write-output", "write-host", "write-verbose",
              "write-debug", "write-warning", "write-information", "write-progress",
              "write-error", "tee-object", "import-csv", "import-clixml", "import-localizeddata",
              "import-powershelldatafile"}
PS_DESTROY = {"format-volume": "erases a whole volume", "clear-disk": "erases a whole disk",
              "initialize-disk": "rewrites a disk's partition table",
              "remove-partition": "deletes a disk partition", "stop-computer": "shuts the "
              "machine down", "reset-physicaldisk": "resets a physical disk",
              "remove-physicaldisk": "removes a physical disk from its pool",
              "clear-physicaldiskhealthdata": "clears disk health records",
              "remove-virtualdisk": "deletes a virtual disk", "remove-storagepool":
              "deletes a storage pool", "dismount-diskimage": ""}
PS_NETWORK = {"invoke-webrequest", "iwr", "invoke-restmethod", "irm", "curl", "wget"}


def _ps_param(args: list[Word], full: str, minimum: int = 2) -> bool:
    """PowerShell accepts any unambiguous prefix of a parameter name, in any case."""
    for a in args:
        t = a.text.lower().split(":", 1)[0]
        if t.startswith("-") and len(t) > minimum and full.startswith(t[1:]):
            return True
    return False


def cmdlet(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    verb = name.split("-", 1)[0]
    if name in PS_DESTROY and PS_DESTROY[name]:
        w.flag(3, f"{code(name)} {PS_DESTROY[name]}.", name)
    elif name == "restart-computer":
        w.flag(2, f"{code(name)} restarts the machine.", "reboot")
    elif name == "remove-item":
        return remove_item(w, name, args, depth)
    elif name in ("invoke-webrequest", "invoke-restmethod"):
        return ps_web(w, name, args, depth)
    elif name == "invoke-expression":
        return ps_iex(w, name, args, depth)
    elif name in PS_READERS or (verb in PS_READ_VERBS and name not in PS_WRITERS):
        if name == "tee-object" and (_ps_param(args, "filepath", 1) or _ps_param(args, "literalpath")):
            w.flag(2, f"{code(name)} writes to a file.", "writes a file")
        else:
            w.read(name)
    else:
        w.flag(2, f"{code(name)} changes the system (PowerShell {verb.capitalize()}-* command).",
               name)
    return Flow(name=name, network=name == "test-netconnection")


def remove_item(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    if _ps_param(args, "recurse", 1) or any(a.text.lower() in ("/s",) for a in args):
        w.flag(3, f"{code(name + ' -Recurse')} deletes a folder tree without asking.",
               "recursive force delete")
    else:
        w.flag(2, f"{code(name)} deletes files.", "deletes files")
    return Flow(name=name)


def ps_web(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    texts = [a.text.lower() for a in args]
    method = "get"
    for i, t in enumerate(texts):
        if t.startswith("-method") or t in ("-me", "-met", "-meth", "-metho"):
            method = t.split(":", 1)[1] if ":" in t else (texts[i + 1] if i + 1 < len(texts) else "")
    _exfiltration(w, name, args)
    if method.upper() not in SAFE_METHODS or _ps_param(args, "body", 1) or \
            _ps_param(args, "infile", 1):
        w.flag(2, f"{code(name)} sends data to a server.", "network write")
    elif _ps_param(args, "outfile", 1):
        w.flag(2, f"{code(name + ' -OutFile')} saves what it downloads to a file.",
               "downloads to a file")
    else:
        w.read(name)
    return Flow(name=name, network=True)


def ps_iex(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    if not args:
        w.flag(2, f"{code(name)} runs whatever code it is given.", "runs code")
        return Flow(name=name, sink="shell")
    text = " ".join(a.text for a in args)
    if any(a.dynamic for a in args) or re.search(r"(?i)downloadstring|iwr|irm|invoke-web|"
                                                  r"invoke-rest|frombase64", text):
        w.flag(3, f"{code(name)} runs code computed when it runs (downloaded, decoded or from "
                  "a variable), so what runs cannot be checked.", "computed code")
        return Flow(name=name)
    return w.run_text(text, depth + 1)


def del_cmd(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
    texts = [a.text.lower() for a in args]
    if "/s" in texts or _ps_param(args, "recurse", 1):
        w.flag(3, f"{code(name + ' /s')} deletes a folder tree without asking.",
               "recursive force delete")
    else:
        w.flag(2, f"{code(name)} deletes files.", "deletes files")
    return Flow(name=name)


def windows_query(read_words: set[str], what: str):
    """sc/reg/net/wmic/schtasks/bcdedit/netsh: queries read, anything else changes."""
    def rule(w: Walker, name: str, args: list[Word], depth: int) -> Flow:
        texts = [a.text.lower() for a in args]
        changing = {"delete", "add", "set", "stop", "start", "config", "create", "call",
                    "/delete", "/create", "/change", "/run", "/end", "/set", "/add", "/y",
                    "pause", "continue", "import", "restore", "load", "unload", "copy", "reset",
                    "/deletevalue", "/import", "/export", "failure", "sdset", "/f"}
        if texts and (texts[0] in read_words or set(texts) & read_words) and \
                not set(texts) & changing:
            w.read(f"{name} {texts[0]}")
        elif not texts and name in ("net", "sc", "netsh", "wmic"):
            w.read(name)
        else:
            w.flag(2, f"{code(name + ' ' + ' '.join(texts[:2]))} {what}.", name)
        return Flow(name=name)
    return rule


def windows_destroy(what: str):
    return changes(what, 3)


def looks_like_powershell(text: str) -> bool:
    first = text.strip().split(None, 1)[0].lower() if text.strip() else ""
    first = first.lstrip("(&.{")
    return bool(_CMDLET.match(first)) or bool(re.match(r"^\$[a-z_][\w:]*\s*=", text.strip(), re.I))


_PS_RUNS_CODE = re.compile(r"(?i)(^|[^\w-])(iex|invoke-expression|invoke-command|icm)\b")
_PS_FETCH = re.compile(r"(?i)downloadstring|downloadfile|downloaddata|invoke-webrequest|"
                       r"invoke-restmethod|\biwr\b|\birm\b|net\.webclient|frombase64string|"
                       r"system\.net\.|start-bitstransfer")


def powershell_fallback(w: Walker, text: str, depth: int) -> None:
    """PowerShell that bash cannot parse: split at | ; { } ( ) and newlines (only single
    quotes protect), classify each piece by its first word. Splitting more than PowerShell
    does only ever finds more commands, never fewer."""
    if _PS_RUNS_CODE.search(text) and _PS_FETCH.search(text):
        w.flag(3, "The PowerShell command downloads or decodes code and runs it "
                  "(Invoke-Expression), so what runs cannot be checked.",
               "network data run as code")
    pieces, buf, quote = [], [], False
    for c in text:
        if c == "'":
            quote = not quote
        if not quote and c in "|;{}()\n":
            pieces.append("".join(buf))
            buf = []
        else:
            buf.append(c)
    pieces.append("".join(buf))
    if quote:
        w.flag(3, "The command cannot be checked: a single quote is never closed.", "unparseable")
        return
    for piece in pieces:
        tokens = re.findall(r"'[^']*'|\"[^\"]*\"|\S+", piece)
        tokens = [t for t in tokens if t not in ("&", ".", "=")]
        if not tokens:
            continue
        if tokens[0].startswith("$") and ("=" in piece or len(tokens) == 1):
            continue  # a variable assignment or a value
        if tokens[0].startswith(("$", "[", "@", "-", '"', "'", ".")) or tokens[0][:1].isdigit():
            continue  # an expression, not a command
        words = [Word(t.strip("'\""), t, dynamic="$" in t) for t in tokens]
        w.simple(words, depth + 1)


# -- the table ------------------------------------------------------------------------------
RULES = {
    "rm": rm, "find": find, "dd": dd,
    "mkfs": device_writer("creates a new file system, erasing what was there"),
    "wipefs": device_writer("erases file-system signatures"),
    "blkdiscard": device_writer("discards every block of a device"),
    "shred": device_writer("overwrites data so it can never be recovered"),
    "badblocks": lambda w, n, a, d: (device_writer("overwrites a disk to test it")(w, n, a, d)
                                     if any(x.text in ("-w", "-n") for x in a)
                                     else reader(w, n, a, d)),
    "fdisk": disk_tool, "sfdisk": disk_tool, "gdisk": disk_tool, "sgdisk": disk_tool,
    "cfdisk": disk_tool, "parted": disk_tool,
    "cp": copy_like, "mv": copy_like, "install": copy_like, "ln": copy_like, "rsync": copy_like,
    "scp": copy_like, "sftp": copy_like, "pv": reader, "tee": tee,
    "chmod": chmod_like, "chown": chmod_like, "chgrp": chmod_like, "chattr": chmod_like,
    "setfacl": chmod_like, "chcon": chmod_like,
    "shutdown": shutdown, "halt": shutdown, "poweroff": shutdown, "reboot": shutdown,
    "init": init, "telinit": init,
    "systemctl": systemctl, "service": service,
    "loginctl": subcommands({"list-sessions", "list-users", "list-seats", "show-session",
                             "show-user", "show-seat", "session-status", "user-status",
                             "seat-status", "--help", "--version"}, default_read=True,
                            what="ends sessions or changes logins"),
    "resolvectl": subcommands({"status", "query", "statistics", "show-cache",
                               "show-server-state", "log-level", "--help"}, default_read=True,
                              what="changes name resolution"),
    "nmcli": lambda w, n, a, d: (w.flag(2, f"{code('nmcli')} changes network connections.",
                                        "changes network")
                                 if {"up", "down", "delete", "modify", "add", "reload",
                                     "connect", "disconnect", "on", "off", "reapply", "load",
                                     "import", "edit", "clone", "set", "hostname"}
                                 & {x.text.lower() for x in a} else w.read("nmcli")) or Flow(name=n),
    "systemd-analyze": subcommands({"blame", "critical-chain", "time", "dump", "calendar",
                                    "timespan", "timestamp", "security", "verify", "syscall-filter",
                                    "unit-paths", "cat-config", "condition", "log-level",
                                    "--help", "--version", "plot", "dot", "exit-status",
                                    "capability", "filesystems", "inspect-elf", "fdstore",
                                    "image-policy", "pcrs", "srk"}, default_read=True),
    "timedatectl": named_settings({"status", "show", "list-timezones", "timesync-status",
                                   "show-timesync", "--help"}, set()),
    "hostnamectl": named_settings({"status", "--help", "--version"},
                                  {"hostname", "icon-name", "chassis", "deployment", "location"}),
    "localectl": named_settings({"status", "list-locales", "list-keymaps", "list-x11-keymap-models",
                                 "list-x11-keymap-layouts", "list-x11-keymap-variants",
                                 "list-x11-keymap-options", "--help"}, set()),
    "date": date, "hostname": hostname, "sed": sed, "awk": awk,
    "ip": ip, "ifconfig": ifconfig, "route": route, "sysctl": sysctl,
    "iptables": firewall, "nft": firewall, "ufw": firewall, "firewall-cmd": firewall,
    "crontab": crontab, "mount": mount, "umount": mount, "swapon": mount, "swapoff": mount,
    "kill": kill, "pkill": kill, "killall": kill, "killall5": kill, "skill": kill,
    "tar": tar, "gzip": compressor, "gunzip": compressor, "bzip2": compressor,
    "bunzip2": compressor, "xz": compressor, "unxz": compressor, "zstd": compressor,
    "unzstd": compressor, "zip": changes("creates archives (writes files)"),
    "unzip": compressor, "7z": changes("creates or extracts archives (writes files)"),
    "openssl": openssl, "xxd": xxd,
    "curl": curl, "wget": wget, "http": httpie, "https": httpie, "xh": httpie, "xhs": httpie,
    "nc": netcat, "ncat": netcat, "netcat": netcat, "socat": socat,
    "telnet": changes("opens an interactive network connection"),
    "ftp": changes("transfers files over the network"),
    "tftp": changes("transfers files over the network"),
    "aria2c": changes("downloads files to disk"),
    "lynx": reader, "w3m": reader, "links": reader, "elinks": reader,
    "ssh": ssh, "sshpass": wrapper("pPfde"),
    # wrappers: classified by what they run
    "sudo": sudo, "doas": sudo, "sudoedit": changes("edits files as root"),
    "pkexec": wrapper("", ("--user",), min_tier=2, what="runs the command with administrator "
                                                        "(root) rights", payload_required=True),
    "su": su, "runuser": su,
    "env": env, "nohup": wrapper(), "nice": wrapper("n", ("--adjustment",)),
    "timeout": wrapper("sk", ("--signal", "--kill-after"), skip=1),
    "ionice": lambda w, n, a, d: (w.flag(2, f"{code('ionice -p')} changes the priority of "
                                         "running processes.", "ionice") or Flow(name=n))
    if any(x.text in ("-p", "-P", "-u") for x in a) else wrapper("cnt", ("--class",
                                                                         "--classdata"))(w, n, a, d),
    "stdbuf": wrapper("ioe", ("--input", "--output", "--error")),
    "setsid": wrapper(), "chroot": wrapper("", ("--userspec", "--groups"), skip=1,
                                           payload_required=True),
    "flock": flock, "time": time_, "command": command_builtin, "builtin": command_builtin,
    "exec": exec_, "xargs": xargs, "watch": watch, "busybox": busybox,
    **dict.fromkeys(("less", "more", "most", "zless", "zmore"), pager),
    "unbuffer": wrapper(), "chrt": wrapper("", (), skip=1), "taskset": wrapper("", (), skip=1),
    "numactl": wrapper("CNmpP", ("--cpunodebind", "--membind", "--physcpubind",
                                 "--preferred", "--interleave")),
    "strace": wrapper("eoOpPsSuXIabE", ("--output", "--attach", "--trace", "--signal", "--user")),
    "ltrace": wrapper("eoplnsuSAaDE", ("--output",)),
    "nsenter": wrapper("tmuinpUCSGrwT", ("--target", "--mount", "--uts", "--ipc", "--net",
                                         "--pid", "--user", "--cgroup", "--setuid", "--setgid",
                                         "--root", "--wd"), min_tier=2,
                       what="runs a command inside another process's namespaces",
                       payload_required=True),
    "unshare": wrapper("", ("--map-user", "--map-group", "--setgroups", "--propagation")),
    "systemd-run": wrapper("pEuMH", ("--property", "--setenv", "--unit", "--machine", "--host",
                                     "--description", "--slice", "--uid", "--gid", "--nice",
                                     "--working-directory", "--on-active", "--on-calendar"),
                           min_tier=2, what="starts a command as a system service"),
    "proxychains": wrapper("f"), "proxychains4": wrapper("f"), "torsocks": wrapper(),
    "firejail": wrapper(), "catchsegv": wrapper(), "valgrind": wrapper(),
    "script": lambda w, n, a, d: (w.run_text(a[[x.text for x in a].index("-c") + 1].text, d + 1)
                                  if "-c" in [x.text for x in a][:-1] else
                                  changes("records the terminal session to a file")(w, n, a, d)),
    "kubectl": kubectl, "oc": kubectl, "k3s": kubectl, "microk8s": kubectl,
    "docker": docker, "podman": docker, "nerdctl": docker,
    "crictl": subcommands({"ps", "pods", "images", "img", "inspect", "inspectp", "inspecti",
                           "logs", "stats", "statsp", "version", "info", "imagefsinfo",
                           "--version", "help"}, {"-r", "--runtime-endpoint", "-i",
                                                  "--image-endpoint", "-t", "--timeout",
                                                  "-c", "--config"}),
    "ctr": subcommands({"version", "info", "images ls", "image ls", "i ls", "containers ls",
                        "container ls", "c ls", "tasks ls", "task ls", "t ls", "namespaces ls",
                        "ns ls", "plugins ls", "snapshots ls", "content ls"},
                       {"-n", "--namespace", "-a", "--address"}, depth_verbs=2),
    "helm": subcommands(HELM_READ, HELM_OPTS, depth_verbs=2, default_read=True,
                        what="installs, upgrades or removes releases"),
    "git": git,
    "virsh": subcommands({"list", "dominfo", "domstate", "dumpxml", "nodeinfo", "version",
                          "net-list", "pool-list", "vol-list", "domblklist", "domiflist",
                          "capabilities", "sysinfo", "help"}, {"-c", "--connect"}),
    "dpkg": dpkg, "rpm": dpkg, "pacman": pacman, "yay": pacman,
    **{tool: (lambda read: (lambda w, n, a, d: reader(w, n, a, d)) if read is None else
              subcommands(read, {"-o", "-c", "--config", "-C", "--prefix", "-g", "--region"},
                          depth_verbs=2, what="installs, removes or changes packages"))(read)
       for tool, read in PKG_READ.items()},
    "npx": changes("downloads and runs a package's code"),
    "pipx": subcommands(PKG_READ["pipx"], what="installs or runs packages"),
    "uvx": changes("downloads and runs a package's code"),
    "modprobe": lambda w, n, a, d: (reader(w, n, a, d) if any(x.text in ("-n", "--dry-run",
                                    "-c", "--showconfig", "--show-depends", "-D") for x in a)
                                    else changes("loads or removes kernel modules")(w, n, a, d)),
    "insmod": changes("loads a kernel module"), "rmmod": changes("removes a kernel module"),
    "mkdir": changes("creates folders"), "rmdir": lambda w, n, a, d: del_cmd(w, n, a, d),
    "touch": changes("creates or updates files"), "truncate": changes("cuts files to a size"),
    "unlink": changes("deletes a file"), "mktemp": changes("creates a temporary file"),
    "useradd": changes("creates a user account"), "userdel": changes("deletes a user account"),
    "usermod": changes("changes a user account"), "groupadd": changes("creates a group"),
    "groupdel": changes("deletes a group"), "passwd": changes("changes a password"),
    "chpasswd": changes("changes passwords"), "visudo": changes("edits sudo rules"),
    "vi": changes("opens an editor"), "vim": changes("opens an editor"),
    "nano": changes("opens an editor"), "emacs": changes("opens an editor"),
    "ed": changes("edits files"),
    "at": changes("schedules a command"), "batch": changes("schedules a command"),
    "atrm": changes("deletes scheduled commands"), "atq": reader,
    "lvremove": device_writer("deletes a logical volume and its data"),
    "vgremove": device_writer("deletes a volume group and its data"),
    "pvremove": device_writer("wipes a physical volume's label"),
    "cryptsetup": lambda w, n, a, d: (device_writer("erases an encrypted volume's keys")(w, n, a, d)
                                      if {"luksformat", "erase", "luksErase".lower()}
                                      & {x.text.lower() for x in a}
                                      else changes("opens, closes or changes encrypted "
                                                   "volumes")(w, n, a, d)),
    "zpool": lambda w, n, a, d: (changes("destroys a storage pool and its data", 3)(w, n, a, d)
                                 if any(x.text in ("destroy", "labelclear") for x in a) else
                                 subcommands({"list", "status", "iostat", "get", "history",
                                              "events"})(w, n, a, d)),
    "zfs": lambda w, n, a, d: (changes("destroys a data set and its data", 3)(w, n, a, d)
                               if any(x.text == "destroy" for x in a) else
                               subcommands({"list", "get", "diff", "holds", "version"})(w, n, a, d)),
    "hdparm": lambda w, n, a, d: (device_writer("erases or rewrites a disk")(w, n, a, d)
                                  if any(x.text.startswith(("--security-erase", "--trim-sector",
                                                            "--write-sector", "--make-bad-sector",
                                                            "--fwdownload", "-z", "--dco"))
                                         for x in a) else
                                  reader(w, n, a, d) if all(x.text in ("-i", "-I", "-t", "-T",
                                                                       "-tT", "-g", "-C", "-H")
                                                            or x.text.startswith("/dev/")
                                                            for x in a) else
                                  changes("changes disk settings")(w, n, a, d)),
    "nvme": lambda w, n, a, d: (device_writer("erases a disk")(w, n, a, d)
                                if any(x.text in ("format", "sanitize", "delete-ns",
                                                  "detach-ns", "fw-download") for x in a) else
                                subcommands({"list", "smart-log", "id-ctrl", "id-ns",
                                             "error-log", "list-subsys", "version", "help",
                                             "get-feature", "list-ns", "show-regs"})(w, n, a, d)),
    "echo": echo, "printf": echo,
    "eval": eval_, "source": source, ".": source, "trap": trap_alias, "alias": trap_alias,
    "cmd": cmd_exe, "pwsh": pwsh, "invoke-expression": ps_iex, "iex": ps_iex,
    "iwr": ps_web, "irm": ps_web,
    "del": del_cmd, "erase": del_cmd, "rd": del_cmd, "ri": del_cmd,
    "remove-item": remove_item,
    "format": windows_destroy("formats a disk, erasing everything on it"),
    "diskpart": windows_destroy("changes disks and partitions, which can erase them"),
    "cipher": lambda w, n, a, d: (changes("overwrites free disk space", 3)(w, n, a, d)
                                  if any(x.text.lower().startswith("/w") for x in a)
                                  else changes("encrypts or decrypts files")(w, n, a, d)),
    "vssadmin": lambda w, n, a, d: (changes("deletes the shadow copies backups rely on", 3)(w, n, a, d)
                                    if any(x.text.lower() in ("delete", "resize") for x in a)
                                    else reader(w, n, a, d)),
    "wbadmin": lambda w, n, a, d: (changes("deletes backups", 3)(w, n, a, d)
                                   if any(x.text.lower().startswith("delete") for x in a)
                                   else changes("starts or changes backups")(w, n, a, d)),
    "bcdedit": windows_query({"/enum", "/v"}, "changes how Windows boots"),
    "sc": windows_query({"query", "queryex", "qc", "qdescription", "qfailure", "getdisplayname",
                         "getkeyname", "enumdepend", "sdshow", "qtriggerinfo"},
                        "starts, stops or changes a Windows service"),
    "reg": windows_query({"query", "compare", "export"}, "changes the Windows registry"),
    "net": windows_query({"view", "share", "user", "localgroup", "accounts", "config",
                          "statistics", "session", "use", "group", "file", "start"},
                         "changes Windows users, shares or services"),
    "wmic": windows_query({"get", "list", "/?"}, "changes the system through WMI"),
    "schtasks": windows_query({"/query"}, "changes scheduled tasks"),
    "netsh": windows_query({"show", "dump"}, "changes the network configuration"),
    "ipconfig": lambda w, n, a, d: (changes("changes network addresses or caches")(w, n, a, d)
                                    if any(x.text.lower() in ("/release", "/renew",
                                                              "/flushdns", "/registerdns",
                                                              "/release6", "/renew6",
                                                              "/setclassid") for x in a)
                                    else reader(w, n, a, d)),
    "taskkill": changes("stops running processes"), "tskill": changes("stops running processes"),
    "chkdsk": lambda w, n, a, d: (changes("repairs a disk (locks and changes it)")(w, n, a, d)
                                  if any(x.text.lower() in ("/f", "/r", "/x", "/b") for x in a)
                                  else reader(w, n, a, d)),
    "sfc": changes("repairs system files"), "dism": changes("changes the Windows image"),
    "takeown": changes("takes ownership of files"), "icacls": lambda w, n, a, d: (
        reader(w, n, a, d) if len(a) <= 1 else changes("changes file permissions")(w, n, a, d)),
    "attrib": lambda w, n, a, d: (changes("changes file attributes")(w, n, a, d)
                                  if any(x.text[:1] in "+-" for x in a) else reader(w, n, a, d)),
    "tasklist": reader, "systeminfo": reader, "tracert": reader, "pathping": reader,
    "findstr": reader, "where": reader, "ver": reader, "vol": reader, "type": reader,
    "getmac": reader, "nbtstat": reader, "qwinsta": reader, "query": reader, "driverquery": reader,
    "gpresult": reader, "whoami": reader, "set": reader, "wevtutil": lambda w, n, a, d: (
        reader(w, n, a, d) if a and a[0].text.lower() in ("qe", "query-events", "el",
                                                          "enum-logs", "gl", "get-log", "gli",
                                                          "get-loginfo")
        else changes("clears or changes event logs")(w, n, a, d)),
    "copy": copy_like, "xcopy": copy_like, "robocopy": lambda w, n, a, d: (
        changes("mirrors folders, deleting what the source lacks", 3)(w, n, a, d)
        if any(x.text.lower() in ("/mir", "/purge") for x in a)
        else copy_like(w, n, a, d)),
    "move": copy_like, "ren": changes("renames files"), "rename": changes("renames files"),
    "md": changes("creates folders"), "mklink": changes("creates links"),
    "start-process": changes("starts a program"), "saps": changes("starts a program"),
    "start": changes("starts a program"),
}
for _name in ("export", "declare", "local", "readonly", "typeset"):
    RULES[_name] = declare
WINDOWS_COMMANDS = {"del", "erase", "rd", "ri", "rmdir", "format", "diskpart", "cipher",
                    "vssadmin", "wbadmin", "bcdedit", "sc", "reg", "net", "wmic", "schtasks",
                    "netsh", "ipconfig", "taskkill", "chkdsk", "sfc", "dism", "takeown",
                    "icacls", "attrib", "copy", "xcopy", "robocopy", "move", "cmd", "pwsh",
                    "iex", "iwr", "irm", "dir", "type", "findstr", "tracert", "md", "mklink"}
for _shell in SHELLS:
    RULES[_shell] = shell
for _interp in INTERPRETERS:
    RULES.setdefault(_interp, interpreter)
