"""Adapters to the outside world (外部系统): the business registry, the identity provider (OIDC), the departments'
systems' push payloads and bookkeeping. Each is the one place its counterpart is spoken to; they import no other
service (an import-linter contract), so a replaced counterpart changes one module."""
