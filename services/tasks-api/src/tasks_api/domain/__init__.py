"""The domain: rules of tasks, roles and reports, free of FastAPI, SQLAlchemy and the broker."""
