"""The store: where things live beside the database, the tables, the single writer, versions of a
submission, the kept bytes of every file and the pseudonymised registers."""
