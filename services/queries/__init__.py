"""Read models (查询): pages and lists built for reading — the desk's queue, the supervision board, the publicity
and credit lists, CSV exports, sample documents. They change nothing: an import-linter contract keeps them off the
store's outbox, locks and audit log."""
