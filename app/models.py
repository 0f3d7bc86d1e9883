"""Imports every ORM model so the metadata is complete (for alembic and tests)."""


def load_all_models() -> None:
    import app.auth.models
    import app.grids.models
    import app.integrations.hotline.models
    import app.integrations.open311.models
    import app.issues.models
    import app.kit.idempotency
    import app.kit.outbox  # noqa: F401
