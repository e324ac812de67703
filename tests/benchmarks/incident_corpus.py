"""Realistic synthetic incidents for the benchmarks: titles and descriptions built from
templates of real-sounding incident text in each of the 16 domains, with the status,
severity, age and resolution-time mix of a busy operations team.

Deterministic for a given seed, so runs are comparable.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

ENVS = ("prod", "stg", "dev", "dr")
REGIONS = ("eu-west-1", "us-east-1", "ap-southeast-2", "eu-central-1", "us-west-2")
TEAMS = ("platform", "network", "dba", "sre", "service desk", "security", "telecom")
PEOPLE = ("A. Okafor", "B. Lindqvist", "C. Moreau", "D. Nakamura", "E. Alvarez", "F. Novak",
          "G. Haddad", "H. Kowalski", "I. Rossi", "J. Mensah", None, None, None)
SERVICES = ("checkout", "payments", "billing", "search", "auth", "inventory", "orders",
            "notifications", "reporting", "ledger", "catalog", "shipping")

POOLS = {
    "host": lambda r: f"{r.choice(('web', 'api', 'db', 'cache', 'node', 'lb', 'mq', 'app'))}"
                      f"-{r.choice(ENVS)}-{r.randint(1, 40):02d}",
    "service": lambda r: r.choice(SERVICES),
    "region": lambda r: r.choice(REGIONS),
    "team": lambda r: r.choice(TEAMS),
    "n": lambda r: str(r.randint(2, 98)),
    "pct": lambda r: str(r.randint(85, 100)),
    "ms": lambda r: str(r.choice((250, 800, 1200, 3000, 5000, 30000))),
    "time": lambda r: f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}",
    "ip": lambda r: f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}",
    "version": lambda r: f"{r.randint(1, 9)}.{r.randint(0, 30)}.{r.randint(0, 9)}",
    "ns": lambda r: r.choice(("payments", "default", "ingress-nginx", "monitoring", "checkout",
                              "kube-system", "data")),
    "db": lambda r: r.choice(("orders", "ledger", "customers", "sessions", "analytics")),
    "unit": lambda r: r.choice(("nginx", "postgresql", "docker", "kubelet", "chronyd", "sshd",
                                "rsyslog", "haproxy", "node_exporter")),
    "disk": lambda r: r.choice(("sda", "sdb", "nvme0n1", "nvme1n1", "md0")),
    "cert": lambda r: r.choice(("*.corp.example", "api.example.com", "vpn.example.com",
                                "sso.example.org", "ldaps.corp.example")),
}

DOMAIN_TEXT: dict[str, dict[str, tuple[str, ...]]] = {
    "linux": {
        "titles": (
            "Kernel panic on {host} after kernel {version} upgrade",
            "systemd unit {unit} fails to start on {host}",
            "Filesystem /var at {pct}% on {host}",
            "OOM killer terminated java on {host}",
            "Stale NFS handle on /mnt/shared from {host}",
            "High load average ({n}) on {host}, iowait dominant",
            "Clock drift on {host}: chronyd lost its sources",
        ),
        "details": (
            "journalctl shows '{unit}.service: Main process exited, code=exited, status=1/FAILURE'.",
            "dmesg reports 'EXT4-fs error (device {disk}): ext4_find_entry: reading directory lblock 0'.",
            "The logrotate cron job stopped compressing old logs, so /var/log grew by {n} GB.",
            "Out of memory: Killed process 4123 (java) total-vm:{n}GB, anon-rss:{n}GB.",
            "SELinux denials (avc: denied {{ write }}) block the service from writing its PID file.",
            "Package upgrade pulled a new glibc; a reboot was pending since the last patch window.",
        ),
        "tags": ("linux", "kernel", "systemd", "disk"),
    },
    "windows": {
        "titles": (
            "Windows Update leaves {host} stuck at 'Preparing to configure'",
            "Print Spooler crashes repeatedly on {host}",
            "IIS application pool for {service} stops after rapid-fail protection",
            "Event ID 7031: service terminated unexpectedly on {host}",
            "RDP sessions to {host} disconnect with CredSSP encryption oracle error",
            "Scheduled task backup job fails with 0x8007052E on {host}",
        ),
        "details": (
            "Event Viewer shows Event ID 1000 from w3wp.exe with faulting module ntdll.dll.",
            "Group Policy update (gpupdate /force) did not apply the new audit policy.",
            "The pagefile on C: was resized to {n} GB after the memory dump filled the disk.",
            "WinRM listener on port 5986 presents an expired certificate.",
            "Defender quarantined a DLL shipped with the {service} release {version}.",
        ),
        "tags": ("windows", "iis", "gpo", "patching"),
    },
    "network": {
        "titles": (
            "DNS resolution failures for {service}.internal from {region}",
            "BGP session to transit provider flapping in {region}",
            "Packet loss of {pct}% between {host} and {ip}",
            "Load balancer health checks failing for {service} pool",
            "TLS handshake timeout on the edge proxy for {service}",
            "MTU mismatch drops large packets across the VPN tunnel",
            "Firewall rule change blocks port 443 to {ip}",
        ),
        "details": (
            "dig returns SERVFAIL for {service}.internal; the resolver cache was flushed at {time} UTC.",
            "The BGP hold timer expired ({n} flaps in the last hour) and routes were withdrawn.",
            "traceroute stops at the core switch; interface errors (CRC) are incrementing.",
            "Health checks time out after {ms} ms; the backend pool shows {n} of 12 members down.",
            "A wrong ACL was pushed by the nightly config job and reverted at {time} UTC.",
            "Path MTU discovery is blocked because ICMP type 3 code 4 is filtered.",
        ),
        "tags": ("network", "dns", "bgp", "firewall", "tls"),
    },
    "kubernetes": {
        "titles": (
            "Pods in {ns} stuck in CrashLoopBackOff after deploy",
            "Node {host} NotReady: kubelet stopped posting status",
            "Ingress returns 502 for {service} after controller upgrade",
            "PersistentVolumeClaim pending in {ns}: no storage class",
            "OOMKilled containers in {service} deployment",
            "Helm release {service} failed: timed out waiting for the condition",
            "etcd leader elections every few minutes in the control plane",
        ),
        "details": (
            "kubectl describe pod shows 'Back-off restarting failed container' with exit code 137.",
            "The kubelet on {host} reports PLEG is not healthy; container runtime is unresponsive.",
            "ingress-nginx logs 'upstream prematurely closed connection while reading response header'.",
            "HorizontalPodAutoscaler scaled {service} to {n} replicas and hit the namespace quota.",
            "etcd warns 'apply request took too long' ({ms} ms); disk fsync latency is high.",
            "A ConfigMap change rolled all pods at once because maxUnavailable was 100%.",
        ),
        "tags": ("kubernetes", "k8s", "helm", "ingress", "pods"),
    },
    "databases": {
        "titles": (
            "PostgreSQL replication lag of {n} minutes on {db} replica",
            "MySQL deadlocks spike on {db} during batch import",
            "Connection pool exhausted for {service} database",
            "Long-running query blocks vacuum on {db}",
            "Oracle tablespace USERS at {pct}% on {host}",
            "MSSQL failover to secondary in availability group",
            "Disk full on {host} stops WAL archiving",
        ),
        "details": (
            "pg_stat_replication shows replay_lag of {n} minutes; the replica is IO bound.",
            "Application logs show 'FATAL: remaining connection slots are reserved for superuser'.",
            "A missing index on {db}.orders(customer_id) made the nightly report scan {n}M rows.",
            "SHOW ENGINE INNODB STATUS lists repeated deadlocks between two UPDATE statements.",
            "Autovacuum could not keep up; table bloat on {db} reached {n} GB.",
            "The failover happened at {time} UTC; clients reconnected after {ms} ms.",
        ),
        "tags": ("database", "postgresql", "mysql", "replication"),
    },
    "virtualization": {
        "titles": (
            "vMotion fails for VMs on {host} with 'insufficient resources'",
            "Datastore latency above {ms} ms on cluster {n}",
            "Proxmox node {host} fenced by HA manager",
            "Hyper-V replica out of sync for {service} VM",
            "KVM guest {host} paused: storage I/O error",
            "Snapshot consolidation needed on {n} VMs",
        ),
        "details": (
            "vCenter alarms show host memory usage at {pct}% and ballooning on several guests.",
            "The NFS datastore reports APD (all paths down) for {n} seconds.",
            "A snapshot chain of {n} deltas slowed the VM and filled the datastore.",
            "corosync lost quorum when the cluster network link flapped at {time} UTC.",
        ),
        "tags": ("vmware", "proxmox", "hyper-v", "kvm"),
    },
    "hardware": {
        "titles": (
            "RAID controller reports degraded array on {host}",
            "Predictive failure on disk {disk} in {host}",
            "Correctable ECC memory errors on {host} DIMM A{n}",
            "Power supply redundancy lost in rack {n}",
            "Firmware {version} causes NIC resets on {host}",
            "Chassis temperature warning on {host}",
        ),
        "details": (
            "The controller log shows the array rebuilding at {pct}% with one member offline.",
            "SMART reports {n} reallocated sectors and rising pending sector count on {disk}.",
            "EDAC logs correctable errors every few minutes on the same DIMM slot.",
            "One PSU lost input power; the PDU breaker tripped at {time} UTC.",
        ),
        "tags": ("hardware", "raid", "disk", "firmware", "psu"),
    },
    "observability": {
        "titles": (
            "Prometheus out of memory after high cardinality metrics from {service}",
            "Alertmanager stopped sending notifications to {team}",
            "Log shipping delayed by {n} minutes in {region}",
            "Grafana dashboards time out querying {service} latency",
            "Tracing spans dropped by the collector ({pct}% sampled out)",
            "Elasticsearch cluster red: unassigned shards",
        ),
        "details": (
            "A new label with request ids created {n}M series; the TSDB head grew past its limit.",
            "The webhook receiver returned 500 and Alertmanager gave up after retries.",
            "Fluent Bit buffers filled and chunks were dropped while the output was unreachable.",
            "Elasticsearch disk watermark reached {pct}%, so shards were not allocated.",
        ),
        "tags": ("monitoring", "prometheus", "logging", "alerting"),
    },
    "telephony": {
        "titles": (
            "SIP trunk registration failing with 403 Forbidden",
            "One-way audio on calls through the SBC in {region}",
            "Call centre queue wait times over {n} minutes",
            "PBX drops calls after exactly {n} seconds",
            "Jitter and packet loss degrade VoIP quality for {team}",
        ),
        "details": (
            "SIP traces show the INVITE answered but RTP only flowing in one direction (NAT).",
            "The session timer (RFC 4028) re-INVITE is rejected by the carrier.",
            "MOS scores dropped below 3.{n} for calls crossing the WAN link.",
            "The carrier changed its SBC address to {ip} without notice.",
        ),
        "tags": ("sip", "voip", "pbx", "telephony"),
    },
    "security": {
        "titles": (
            "TLS certificate {cert} expired",
            "Vault sealed after restart of {host}",
            "Suspicious logins from unknown IP {ip}",
            "Secrets rotation job failed for {service}",
            "Certificate chain incomplete on {cert}",
            "Endpoint protection flagged malware on {host}",
        ),
        "details": (
            "Clients fail with 'x509: certificate has expired or is not yet valid'.",
            "Vault status shows Sealed: true; {n} of 5 unseal keys were needed to recover.",
            "The auth log shows {n} failed password attempts followed by a success from {ip}.",
            "The intermediate CA was missing from the bundle served by the load balancer.",
            "The rotated database password was not propagated to the {service} deployment.",
        ),
        "tags": ("security", "vault", "certificate", "tls", "secrets"),
    },
    "public_safety": {
        "titles": (
            "CAD system slow to create incidents at dispatch centre {n}",
            "911 call routing to backup PSAP after trunk failure",
            "Radio console loses connection to the P25 core",
            "AVL positions of units delayed by {n} minutes",
            "Mapping layer in CAD shows stale addresses",
        ),
        "details": (
            "Dispatchers report incident creation taking {n} seconds; the CAD database shows lock waits.",
            "ALI data lookups time out, so call takers enter addresses by hand.",
            "The P25 console gateway restarted at {time} UTC after a memory leak.",
            "GPS updates queue at the AVL server because the message broker is backed up.",
        ),
        "tags": ("cad", "911", "dispatch", "radio"),
    },
    "application": {
        "titles": (
            "{service} API returns 502 Bad Gateway under load",
            "Memory leak in {service} service after release {version}",
            "Checkout latency p99 above {ms} ms",
            "NullPointerException in {service} order processing",
            "Feature flag rollout broke {service} for {pct}% of users",
            "Timeouts calling the payments provider from {service}",
            "Message queue backlog of {n}k events for {service}",
        ),
        "details": (
            "Error rate rose to {pct}% at {time} UTC right after deploy {version}; rollback fixed it.",
            "Heap usage grows steadily until the container is OOMKilled every {n} hours.",
            "Thread dumps show all workers blocked on the HTTP client connection pool.",
            "Upstream timeout after {ms} ms; retries amplified the load on the provider.",
            "The consumer crashed on a malformed message and the dead letter queue filled.",
            "Customers in {region} saw errors at checkout; {n} orders failed.",
        ),
        "tags": ("api", "deploy", "latency", "customer-facing"),
    },
    "automation": {
        "titles": (
            "CI pipeline for {service} fails at the integration test stage",
            "Terraform apply wants to destroy {n} resources after provider upgrade",
            "Ansible playbook hangs on {host}",
            "Self-hosted runners offline in {region}",
            "Artifact registry returns 429 during builds",
        ),
        "details": (
            "The runner disk filled with Docker layers; builds fail with 'no space left on device'.",
            "terraform plan shows drift because someone changed the security group by hand.",
            "Ansible waits on an apt lock held by unattended-upgrades on {host}.",
            "Rate limiting by the registry starts after {n} pulls per minute.",
        ),
        "tags": ("ci", "cd", "terraform", "ansible", "pipeline"),
    },
    "hpe": {
        "titles": (
            "iLO unreachable on ProLiant {host}",
            "HPE Synergy frame reports interconnect module failure",
            "3PAR array latency spike on CPG {n}",
            "Smart Array controller battery failure on {host}",
        ),
        "details": (
            "The iLO {version} firmware has a known issue with TLS; reset via the host fixed access.",
            "The IML lists a cache module battery failure; write cache was disabled.",
            "The array shows {n} ms service times on the FC ports during backup windows.",
        ),
        "tags": ("hpe", "proliant", "ilo", "storage"),
    },
    "dell": {
        "titles": (
            "iDRAC reports PSU mismatch on PowerEdge {host}",
            "PowerStore volume offline after NDU to {version}",
            "OpenManage alerts: fan failure on {host}",
            "PERC controller foreign configuration on {host}",
        ),
        "details": (
            "The iDRAC lifecycle log lists PSU0002 and the system runs without redundancy.",
            "The non-disruptive upgrade paused at {pct}% and one node rebooted twice.",
            "Foreign configuration was detected after replacing disk {disk}; import needed.",
        ),
        "tags": ("dell", "poweredge", "idrac", "powerstore"),
    },
    "identity": {
        "titles": (
            "SSO login fails with invalid SAML response for {service}",
            "LDAP bind errors from {host}",
            "Active Directory replication failing between sites",
            "OAuth token refresh returns invalid_grant for {service}",
            "Users locked out after password policy change",
            "Kerberos clock skew errors on {host}",
        ),
        "details": (
            "The IdP signing certificate rotated and the SP metadata still had the old one.",
            "LDAPS connections fail: the domain controller certificate expired.",
            "repadmin /showrepl reports error 8453 (replication access was denied).",
            "Token lifetime was reduced to {n} minutes and refresh tokens were revoked.",
            "KRB_AP_ERR_SKEW: the clock on {host} was {n} minutes ahead.",
        ),
        "tags": ("sso", "ldap", "active-directory", "oauth"),
    },
}

COMMON_DETAILS = (
    "Impact: {service} users in {region} affected from {time} UTC.",
    "Paged the {team} on-call; bridge opened at {time} UTC.",
    "Monitoring alerted after {n} minutes; no customer reports yet.",
    "Mitigation: restarted the affected component and drained traffic to the standby.",
    "Follow-up: add an alert, update the runbook, review the change that triggered it.",
    "Seen before during the last maintenance window; see the previous postmortem.",
    "Rollback completed at {time} UTC and error rates returned to baseline.",
)

STATUS_WEIGHTS = (("open", 10), ("investigating", 10), ("resolved", 30), ("closed", 50))
SEVERITY_WEIGHTS = (("critical", 5), ("high", 20), ("medium", 45), ("low", 30))


class _Fill(dict):
    def __init__(self, rng: random.Random):
        super().__init__()
        self.rng = rng

    def __missing__(self, key):
        return POOLS[key](self.rng)


def _fmt(template: str, rng: random.Random) -> str:
    return template.format_map(_Fill(rng))


def _pick(weighted, rng):
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


ISSUE_FIELDS = ("id", "title", "description", "severity", "status", "category", "source",
                "created_at", "updated_at", "resolved_at", "assigned_to", "tags",
                "impact_started_at", "detected_at", "acknowledged_at", "mitigated_at",
                "closed_at")


def _milestones(rng: random.Random, created: datetime, resolved: datetime | None, status: str,
                now: datetime) -> tuple[str | None, ...]:
    """(impact started, detected, acknowledged, mitigated, closed), in order and never
    after resolution or now: detection on 85% of incidents, just before the record was
    opened; impact start on half of those; acknowledgement on 80%; mitigation on 60% of
    the resolved; closing a few hours after resolution for the closed."""
    def text(moment):
        return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else None

    detected = impact = acknowledged = mitigated = closed = None
    end = resolved or now
    if rng.random() < 0.85:
        detected = created - timedelta(minutes=rng.randint(0, 20))
        if rng.random() < 0.5:
            impact = detected - timedelta(minutes=int(rng.lognormvariate(2.5, 1.0)))
        if rng.random() < 0.8:
            acknowledged = min(detected + timedelta(minutes=rng.randint(1, 45)), end)
        if resolved and rng.random() < 0.6:
            start = acknowledged or detected
            mitigated = start + (resolved - start) * rng.random()
    if status == "closed" and resolved:
        closed = min(resolved + timedelta(hours=rng.uniform(0.5, 72)), now)
    return text(impact), text(detected), text(acknowledged), text(mitigated), text(closed)


def incidents(count: int, *, seed: int = 20240611, days: int = 540,
              now: datetime | None = None):
    """Yield (issue_row, timeline_row) tuples ready for executemany.

    issue_row matches ISSUE_FIELDS; timeline_row is the triage_started event (id,
    issue_id, event_type, description, metadata, created_at). Ids are UUIDv7 strings in
    creation order. Milestones follow a team that records them on most incidents
    (:func:`_milestones`); they come from a second generator, so the text and the other
    fields are the same as before milestones were added.
    """
    from tftsr.db.ids import uuid7

    rng = random.Random(seed)
    moments = random.Random(seed + 1)
    now = now or datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    domains = list(DOMAIN_TEXT)
    # Creation times, oldest first, weighted towards recent months.
    ages = sorted((rng.random() ** 1.6 * days * 86400 for _ in range(count)), reverse=True)
    for age in ages:
        domain = rng.choice(domains)
        text = DOMAIN_TEXT[domain]
        title = _fmt(rng.choice(text["titles"]), rng)
        parts = [_fmt(s, rng) for s in rng.sample(text["details"], k=min(2, len(text["details"])))]
        parts += [_fmt(s, rng) for s in rng.sample(COMMON_DETAILS, k=rng.randint(1, 3))]
        rng.shuffle(parts)
        description = " ".join(parts)
        created = now - timedelta(seconds=int(age))
        status = _pick(STATUS_WEIGHTS, rng)
        severity = _pick(SEVERITY_WEIGHTS, rng)
        resolved = None
        updated = created
        if status in ("resolved", "closed"):
            hours = rng.lognormvariate(1.5, 1.0)
            resolved = min(created + timedelta(hours=hours), now)
            updated = resolved
        elif status == "investigating":
            updated = min(created + timedelta(minutes=rng.randint(5, 600)), now)
        tags = rng.sample(text["tags"], k=rng.randint(1, 2)) + \
            ([rng.choice(ENVS)] if rng.random() < 0.5 else [])
        ts = created.strftime("%Y-%m-%d %H:%M:%S")
        issue_id = uuid7()
        issue = (issue_id, title, description, severity, status, domain,
                 rng.choice(("manual", "manual", "alert", "email", "import")), ts,
                 updated.strftime("%Y-%m-%d %H:%M:%S"),
                 resolved.strftime("%Y-%m-%d %H:%M:%S") if resolved else None,
                 rng.choice(PEOPLE), json.dumps(tags),
                 *_milestones(moments, created, resolved, status, now))
        event = (uuid7(), issue_id, "triage_started", f"Incident opened: {title}",
                 json.dumps({"severity": severity, "category": domain, "title": title}), ts)
        yield issue, event


# Search terms that appear in the corpus, for the query mix.
SINGLE_WORDS = (
    "timeout", "certificate", "replication", "kubelet", "OOMKilled", "DNS", "iDRAC", "SIP",
    "LDAP", "Vault", "pipeline", "RAID", "firmware", "deadlocks", "Terraform", "Ansible",
    "ingress", "Prometheus", "Elasticsearch", "checkout", "payments", "PostgreSQL", "MySQL",
    "BGP", "MTU", "vMotion", "Proxmox", "CrashLoopBackOff", "etcd", "SAML", "Kerberos",
    "OAuth", "P25", "dispatch", "jitter", "PowerStore", "ProLiant", "Synergy", "logrotate",
    "SELinux", "chronyd", "IIS", "spooler", "CredSSP", "Defender", "rollback", "runbook",
    "latency", "backlog", "quota", "expired", "sealed", "fenced", "snapshot", "datastore",
    "webhook", "cardinality", "PERC", "SMART", "ECC",
)
PREFIXES = (
    "kube", "repl", "cert", "postg", "time", "auth", "dns", "netw", "dead", "conn", "fail",
    "mem", "disk", "pay", "check", "ingr", "prom", "elast", "terra", "ansi", "vmo", "prox",
    "sip", "ldap", "kerb", "oaut", "fire", "pack", "load", "roll", "snap", "data", "clus",
    "cont", "pod", "node", "dep", "late", "sess", "vaul",
)
TWO_WORDS = (
    "disk full", "certificate expired", "pods crashloopbackoff", "replication lag",
    "dns resolution", "login fails", "connection pool", "memory leak", "packet loss",
    "health checks", "load balancer", "kernel panic", "high load", "out of memory",
    "one-way audio", "queue backlog", "helm release", "storage class", "ecc memory",
    "power supply", "raid degraded", "vault sealed", "token refresh", "clock skew",
    "ssl handshake", "tls handshake", "bad gateway", "feature flag", "integration test",
    "terraform apply", "ansible playbook", "runner offline", "ilo unreachable",
    "fan failure", "foreign configuration", "alertmanager notifications", "log shipping",
    "unassigned shards", "sip trunk", "call routing", "radio console", "avl positions",
    "group policy", "print spooler", "application pool", "rdp sessions", "bgp session",
    "firewall rule", "mtu mismatch", "datastore latency", "snapshot consolidation",
    "smart array", "powerstore volume", "saml response", "ldap bind", "active directory",
    "users locked", "secrets rotation", "suspicious logins", "checkout latency",
)
NO_MATCH = ("zeppelin", "quasar overflow", "xylophone", "blockchain", "mainframe cics",
            "holodeck", "teleporter", "zzzz", "flux capacitor", "unobtainium")
