"""The write path: the pure write plan (validate, merge, answer) and the one
transaction per batch that locks, numbers, stores and announces what it decided."""
