"""The 16 incident domains, used as issue categories."""

from __future__ import annotations

DOMAINS: tuple[dict, ...] = (
    {"id": "linux", "label": "Linux", "description": "Kernel, systemd, filesystems, packages, boot"},
    {"id": "windows", "label": "Windows", "description": "Windows Server, services, event logs, AD clients"},
    {"id": "network", "label": "Network", "description": "DNS, routing, firewalls, load balancers, TLS"},
    {"id": "kubernetes", "label": "Kubernetes", "description": "Pods, nodes, ingress, operators, Helm"},
    {"id": "databases", "label": "Databases", "description": "PostgreSQL, MySQL, Oracle, MSSQL, replication"},
    {"id": "virtualization", "label": "Virtualization", "description": "VMware, Proxmox, Hyper-V, KVM"},
    {"id": "hardware", "label": "Hardware", "description": "Disks, memory, power, firmware, RAID"},
    {"id": "observability", "label": "Observability", "description": "Metrics, logging, tracing, alerting"},
    {"id": "telephony", "label": "Telephony", "description": "SIP, VoIP, PBX, contact centre"},
    {"id": "security", "label": "Security / Vault", "description": "Secrets, certificates, Vault, intrusion"},
    {"id": "public_safety", "label": "Public Safety", "description": "CAD, 911/112, radio and dispatch systems"},
    {"id": "application", "label": "Application", "description": "Services, APIs, deployments, runtime errors"},
    {"id": "automation", "label": "Automation / CI-CD", "description": "Pipelines, Ansible, Terraform, runners"},
    {"id": "hpe", "label": "HPE", "description": "ProLiant, iLO, Synergy, storage arrays"},
    {"id": "dell", "label": "Dell", "description": "PowerEdge, iDRAC, PowerStore, OpenManage"},
    {"id": "identity", "label": "Identity", "description": "SSO, LDAP, Active Directory, OAuth/OIDC"},
)
DOMAIN_IDS = tuple(d["id"] for d in DOMAINS)
DOMAIN_LABELS = {d["id"]: d["label"] for d in DOMAINS}

SEVERITIES = ("critical", "high", "medium", "low")
STATUSES = ("open", "investigating", "resolved", "closed")

# Allowed status moves. Reopening goes back to "investigating".
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "open": ("investigating", "resolved", "closed"),
    "investigating": ("open", "resolved", "closed"),
    "resolved": ("investigating", "closed"),
    "closed": ("investigating",),
}
