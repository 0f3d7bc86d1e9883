"""Imports every ORM model so the metadata is complete (for alembic and tests)."""


def load_all_models() -> None:
    import app.audit.models
    import app.auth.models
    import app.commitments.models
    import app.consultation.models
    import app.diary.models
    import app.grids.models
    import app.integrations.hotline.models
    import app.integrations.open311.models
    import app.integrations.webhooks.models
    import app.issues.models
    import app.kit.idempotency
    import app.kit.outbox
    import app.kit.ratelimit
    import app.mediation.models
    import app.residents.models
    import app.sync.models
    import app.volunteers.models  # noqa: F401
