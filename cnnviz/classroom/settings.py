"""The teacher's settings for the class: pause training (nothing new starts; waiting runs keep
their place) and class limits on a run's epochs and training images, which the Training page
shows and applies with `limited`. A Start pressed while paused is held by the Training page
(ui.class_training); a run already waiting in Ray's queue asks PauseGate once it has a slot, and
waits there, keeping its place, until the teacher resumes.
"""

import time
from dataclasses import dataclass, field

from sqlalchemy import select

from cnnviz.classroom.schema import teacher_settings, upsert
from cnnviz.classroom.store import ClassStore, StoreUnavailable, shared_store


@dataclass(frozen=True)
class TeacherSettings:
    paused: bool = False
    max_epochs: int | None = None  # None: no class limit
    max_train_images: int | None = None  # training images of a run, validation included

    def validate(self) -> "TeacherSettings":
        """ValueError naming the field to fix."""
        if not isinstance(self.paused, bool):
            raise TypeError(f"paused must be True or False, got {self.paused!r}")
        for name, least in (("max_epochs", 1), ("max_train_images", 2)):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < least):
                raise ValueError(f"{name} must be an integer of at least {least}, or None for "
                                 f"no limit; got {value!r}")
        return self

    def limited(self, epochs: int, train_images: int | None) -> tuple[int, int | None]:
        """A run's epochs and training images (None: all) within the class limits."""
        if self.max_epochs is not None:
            epochs = min(epochs, self.max_epochs)
        if self.max_train_images is not None:
            train_images = min(train_images or self.max_train_images, self.max_train_images)
        return epochs, train_images


def read(store: ClassStore) -> TeacherSettings:
    """The class's settings; the defaults (not paused, no limits) until the teacher sets any."""
    with store.read() as connection:
        row = connection.execute(select(teacher_settings)
                                 .where(teacher_settings.c.id == 1)).first()
    if row is None:
        return TeacherSettings()
    return TeacherSettings(bool(row.paused), row.max_epochs, row.max_train_images)


def write(store: ClassStore, settings: TeacherSettings) -> TeacherSettings:
    """Saves the class's settings for every replica; ValueError for a bad value."""
    settings.validate()
    values = {"paused": settings.paused, "max_epochs": settings.max_epochs,
              "max_train_images": settings.max_train_images, "updated_at": time.time()}
    with store.write() as connection:
        upsert(connection, teacher_settings, {"id": 1, **values}, ["id"], list(values))
    return settings


@dataclass(frozen=True)
class PauseGate:
    """The teacher's pause, asked by a student's run before it begins, wherever it runs (a Ray
    worker, perhaps on another machine: the gate carries only the store's URL, kept out of its
    repr since it may hold a password)."""

    url: str = field(repr=False)

    def paused(self) -> bool:
        """Whether the teacher paused training; a store that cannot be reached pauses no one
        (as on the Training page)."""
        try:
            return read(shared_store(self.url)).paused
        except StoreUnavailable:
            return False
