"""One storage layer for SQLite (the embedded default) and PostgreSQL (scale-out).

SQLAlchemy Core 2.x: tables are declared once as metadata, queries are written once as
Core expressions, and the dialect renders them (quoting our camelCase column names).
"""
