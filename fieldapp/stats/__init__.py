"""Anonymized statistics: aggregation in the database, disclosure control, charts, exports."""
