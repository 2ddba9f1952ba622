"""What Pearl keeps about a reader, found by looking at the models themselves: every model
with a foreign key to User (and any other that declares it names a reader, as LoginToken
does by address) with its plain-words `PRIVACY`. The privacy page and account deletion both
read this list, so a new table that names readers cannot be left off either."""

from peewee import SQL, ForeignKeyField, Model, fn

import models


def _all_models():
    """Every peewee model on Pearl's database, wherever it is defined, subclasses too."""
    found, todo = [], list(Model.__subclasses__())
    while todo:
        model = todo.pop()
        todo.extend(model.__subclasses__())
        if model._meta.database is models.db and model not in found:
            found.append(model)
    return found


def user_foreign_keys(model):
    """The model's fields that point at a reader (a User row)."""
    return [
        field
        for field in model._meta.sorted_fields
        if isinstance(field, ForeignKeyField) and field.rel_model is models.User
    ]


def reader_models():
    """User first, then every model naming a reader, by name: what the privacy page lists.
    A model with a foreign key to User but no PRIVACY is a bug (the test says which)."""
    naming = [m for m in _all_models() if user_foreign_keys(m) or "PRIVACY" in vars(m)]
    naming.sort(key=lambda m: (m is not models.User, m.__name__))
    return naming


def naming(model, user):
    """Which of the model's rows name `user`: a foreign key to them, or (a model that keys
    readers otherwise, as LoginToken does by address) the model's own `naming(user)`."""
    keys = user_foreign_keys(model)
    if not keys:
        return model.naming(user)
    condition = keys[0] == user.id
    for key in keys[1:]:
        condition |= key == user.id
    return condition


def counts(user):
    """(name, rows) for each model naming `user` but User itself, in one query: what
    deleting the account removes."""
    others = [m for m in reader_models() if m is not models.User]
    columns = [
        m.select(fn.COUNT(SQL("*"))).where(naming(m, user)).alias(f"n{i}")
        for i, m in enumerate(others)
    ]
    row = models.User.select(*columns).where(models.User.id == user.id).tuples().get()
    return [(m.PRIVACY.name, n) for m, n in zip(others, row, strict=True)]


def undescribed():
    """Models that name a reader but do not say so in plain words."""
    return [
        m.__name__
        for m in reader_models()
        if not isinstance(getattr(m, "PRIVACY", None), models.Privacy)
    ]


def descriptions():
    """(name, what, who) for each model naming a reader, for the privacy page."""
    return [model.PRIVACY for model in reader_models() if model.__name__ not in undescribed()]
