"""AI triage: providers, the triage chat, the 5-Whys guidance and Ollama management.

AI is optional: nothing else in TFTSR needs a provider. Every byte that goes to one
passes the PII gate first and is recorded (SHA-256) in the audit log before it is sent.
"""
