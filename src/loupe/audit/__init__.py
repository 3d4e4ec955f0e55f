"""The audit log: every write by a person or a key, who, what, which resource, when and from where."""
