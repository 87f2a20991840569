"""Review domain: roles, state transition tables, aggregation rules (综合审批意见). Pure Python."""
